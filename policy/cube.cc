#include "policy/cube.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"

namespace gatehouse::policy {

ValueSet ValueSet::Full(int size) {
  ValueSet s(size);
  for (int i = 0; i < s.words(); ++i) {
    const int left = size - i * 64;
    s.w_[i] = left >= 64 ? ~0ULL : left <= 0 ? 0 : ((1ULL << left) - 1);
  }
  return s;
}

ValueSet ValueSet::Single(int size, int value) {
  ValueSet s(size);
  if (value >= 0 && value < s.words() * 64) s.Set(value);
  return s;
}

ValueSet ValueSet::FromWord(int size, uint64_t bits) {
  ValueSet s(size);
  s.w_[0] = bits & Full(size).w_[0];
  return s;
}

int ValueSet::Count() const {
  int n = 0;
  for (uint64_t x : w_) n += __builtin_popcountll(x);
  return n;
}

int ValueSet::First() const {
  for (size_t i = 0; i < w_.size(); ++i) {
    if (w_[i]) return static_cast<int>(i * 64) + __builtin_ctzll(w_[i]);
  }
  return -1;
}

ValueSet& ValueSet::operator&=(const ValueSet& o) {
  for (size_t i = 0; i < w_.size(); ++i) w_[i] &= i < o.w_.size() ? o.w_[i] : 0;
  return *this;
}

ValueSet& ValueSet::operator|=(const ValueSet& o) {
  if (o.w_.size() > w_.size()) w_.resize(o.w_.size(), 0);
  for (size_t i = 0; i < o.w_.size(); ++i) w_[i] |= o.w_[i];
  return *this;
}

ValueSet& ValueSet::AndNot(const ValueSet& o) {
  const size_t n = std::min(w_.size(), o.w_.size());
  for (size_t i = 0; i < n; ++i) w_[i] &= ~o.w_[i];
  return *this;
}

Cube Cube::Universe(const Shape& shape) {
  Cube c;
  for (int d = 0; d < kNumValueDims; ++d) c.m[d] = shape.Full(d);
  c.absent_ok = c.present_ok = shape.CaveatsFull();
  return c;
}

bool Cube::Empty(const Shape& shape) const {
  for (int d = 0; d < kNumValueDims; ++d) {
    if (m[d].Empty()) return true;
  }
  return ((absent_ok | present_ok) & shape.CaveatsFull()) !=
         shape.CaveatsFull();
}

Cube Intersect(const Cube& a, const Cube& b) {
  Cube c = a;
  for (int d = 0; d < kNumValueDims; ++d) c.m[d] &= b.m[d];
  c.absent_ok = a.absent_ok & b.absent_ok;
  c.present_ok = a.present_ok & b.present_ok;
  return c;
}

bool Intersects(const Shape& shape, const Cube& a, const Cube& b) {
  const uint64_t full = shape.CaveatsFull();
  if ((((a.absent_ok & b.absent_ok) | (a.present_ok & b.present_ok)) & full) != full) {
    return false;
  }
  for (int d = 0; d < kNumValueDims; ++d) {
    if (!a.m[d].Intersects(b.m[d])) return false;
  }
  return true;
}

bool Contains(const Cube& outer, const Cube& inner) {
  if ((inner.absent_ok & ~outer.absent_ok) != 0 || (inner.present_ok & ~outer.present_ok) != 0) {
    return false;
  }
  for (int d = 0; d < kNumValueDims; ++d) {
    if (!inner.m[d].SubsetOf(outer.m[d])) return false;
  }
  return true;
}

void Subtract(const Shape& shape, const Cube& a, const Cube& b, Region* out) {
  if (!Intersects(shape, a, b)) {
    out->push_back(a);
    return;
  }
  Cube cur = a;
  for (int d = 0; d < kNumValueDims; ++d) {
    if (cur.m[d].SubsetOf(b.m[d])) continue;
    Cube piece = cur;
    piece.m[d].AndNot(b.m[d]);
    out->push_back(std::move(piece));
    cur.m[d] &= b.m[d];
  }
  const uint64_t full = shape.CaveatsFull();
  // Caveats where cur allows "absent" but b does not, then "present".
  uint64_t bits = cur.absent_ok & ~b.absent_ok & full;
  while (bits) {
    const uint64_t bit = bits & -bits;
    bits &= bits - 1;
    Cube piece = cur;
    piece.present_ok &= ~bit;
    out->push_back(piece);
    cur.absent_ok &= ~bit;
  }
  bits = cur.present_ok & ~b.present_ok & full;
  while (bits) {
    const uint64_t bit = bits & -bits;
    bits &= bits - 1;
    Cube piece = cur;
    piece.absent_ok &= ~bit;
    out->push_back(piece);
    cur.present_ok &= ~bit;
  }
}

void Simplify(const Shape& shape, Region* r) {
  Region out;
  out.reserve(r->size());
  for (const Cube& c : *r) {
    if (c.Empty(shape)) continue;
    bool dominated = false;
    for (const Cube& o : out) {
      if (Contains(o, c)) {
        dominated = true;
        break;
      }
    }
    if (dominated) continue;
    out.erase(std::remove_if(out.begin(), out.end(),
                             [&](const Cube& o) { return Contains(c, o); }),
              out.end());
    out.push_back(c);
  }
  *r = std::move(out);
}

Region Union(const Region& a, const Region& b) {
  Region r = a;
  r.insert(r.end(), b.begin(), b.end());
  return r;
}

Region IntersectRegions(const Shape& shape, const Region& a, const Region& b) {
  Region r;
  for (const Cube& x : a) {
    for (const Cube& y : b) {
      if (Intersects(shape, x, y)) r.push_back(Intersect(x, y));
    }
  }
  Simplify(shape, &r);
  return r;
}

// Each cube of `a` less the cubes of `b` that meet it, in turn (the pieces
// of one cube of `a` do not depend on the others'): a cube that misses
// every cube of `b`, or that one of them contains, is not cut or copied
// into pieces.
Region SubtractRegions(const Shape& shape, const Region& a, const Region& b) {
  Region out, rest, next;
  for (const Cube& x : a) {
    bool cut = false, gone = false;
    for (const Cube& y : b) {
      if (!Intersects(shape, x, y)) continue;
      if (!cut) {
        if (Contains(y, x)) {
          gone = true;
          break;
        }
        rest.assign(1, x);
        cut = true;
      }
      next.clear();
      for (const Cube& r : rest) Subtract(shape, r, y, &next);
      std::swap(rest, next);
      if (rest.empty()) {
        gone = true;
        break;
      }
    }
    if (gone) continue;
    if (!cut) {
      out.push_back(x);
      continue;
    }
    for (Cube& r : rest) out.push_back(std::move(r));
  }
  return out;
}

Region Complement(const Shape& shape, const Region& a) {
  return SubtractRegions(shape, Region{Cube::Universe(shape)}, a);
}

bool IsEmpty(const Region& a) { return a.empty(); }

bool Covered(const Shape& shape, const Region& a, const Region& b) {
  for (const Cube& x : a) {
    Region rest{x};
    for (const Cube& y : b) {
      if (!Intersects(shape, x, y)) continue;
      Region next;
      for (const Cube& r : rest) Subtract(shape, r, y, &next);
      rest = std::move(next);
      if (rest.empty()) break;
    }
    if (!rest.empty()) return false;
  }
  return true;
}

Region Disjoint(const Shape& shape, const Region& a) {
  Region out;
  for (const Cube& c : a) {
    Region pieces = SubtractRegions(shape, Region{c}, out);
    out.insert(out.end(), pieces.begin(), pieces.end());
  }
  return out;
}

double CellCount(const Shape& shape, const Region& r) {
  double total = 0;
  for (const Cube& c : r) {
    double n = 1;
    for (int d = 0; d < kNumValueDims; ++d) n *= c.m[d].Count();
    for (int i = 0; i < shape.caveats; ++i) {
      n *= ((c.absent_ok >> i) & 1) + ((c.present_ok >> i) & 1);
    }
    total += n;
  }
  return total;
}

void MergeForReading(const Shape& shape, Region* r) {
  bool changed = true;
  while (changed && r->size() > 1) {
    changed = false;
    // Dimensions 0..kNumValueDims-1, then one caveat at a time.
    for (int d = 0; d < kNumValueDims + shape.caveats; ++d) {
      absl::flat_hash_map<Cube, size_t> by_rest;
      Region out;
      out.reserve(r->size());
      for (Cube& c : *r) {
        Cube key = c;
        if (d < kNumValueDims) {
          key.m[d] = shape.None(d);
        } else {
          const uint64_t bit = uint64_t{1} << (d - kNumValueDims);
          key.absent_ok |= bit;
          key.present_ok |= bit;
        }
        auto [it, inserted] = by_rest.emplace(std::move(key), out.size());
        if (inserted) {
          out.push_back(std::move(c));
          continue;
        }
        Cube& into = out[it->second];
        if (d < kNumValueDims) {
          into.m[d] |= c.m[d];
        } else {
          into.absent_ok |= c.absent_ok;
          into.present_ok |= c.present_ok;
        }
        changed = true;
      }
      *r = std::move(out);
    }
  }
}

}  // namespace gatehouse::policy
