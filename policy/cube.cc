#include "policy/cube.h"

#include <algorithm>

namespace gatehouse::policy {

Cube Cube::Universe(const Shape& shape) {
  Cube c;
  for (int d = 0; d < kNumValueDims; ++d) c.m[d] = shape.Full(d);
  c.absent_ok = c.present_ok = shape.CaveatsFull();
  return c;
}

bool Cube::Empty(const Shape& shape) const {
  for (int d = 0; d < kNumValueDims; ++d) {
    if (m[d] == 0) return true;
  }
  return ((absent_ok | present_ok) & shape.CaveatsFull()) !=
         shape.CaveatsFull();
}

Cube Intersect(const Cube& a, const Cube& b) {
  Cube c;
  for (int d = 0; d < kNumValueDims; ++d) c.m[d] = a.m[d] & b.m[d];
  c.absent_ok = a.absent_ok & b.absent_ok;
  c.present_ok = a.present_ok & b.present_ok;
  return c;
}

bool Intersects(const Shape& shape, const Cube& a, const Cube& b) {
  for (int d = 0; d < kNumValueDims; ++d) {
    if ((a.m[d] & b.m[d]) == 0) return false;
  }
  const uint64_t full = shape.CaveatsFull();
  return (((a.absent_ok & b.absent_ok) | (a.present_ok & b.present_ok)) &
          full) == full;
}

bool Contains(const Cube& outer, const Cube& inner) {
  for (int d = 0; d < kNumValueDims; ++d) {
    if (inner.m[d] & ~outer.m[d]) return false;
  }
  return (inner.absent_ok & ~outer.absent_ok) == 0 &&
         (inner.present_ok & ~outer.present_ok) == 0;
}

void Subtract(const Shape& shape, const Cube& a, const Cube& b, Region* out) {
  if (!Intersects(shape, a, b)) {
    out->push_back(a);
    return;
  }
  Cube cur = a;
  for (int d = 0; d < kNumValueDims; ++d) {
    const uint64_t outside = cur.m[d] & ~b.m[d];
    if (outside) {
      Cube piece = cur;
      piece.m[d] = outside;
      out->push_back(piece);
      cur.m[d] &= b.m[d];
    }
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

Region SubtractRegions(const Shape& shape, const Region& a, const Region& b) {
  Region cur = a;
  for (const Cube& y : b) {
    Region next;
    for (const Cube& x : cur) Subtract(shape, x, y, &next);
    cur = std::move(next);
    if (cur.empty()) break;
  }
  return cur;
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
    for (int d = 0; d < kNumValueDims; ++d) n *= __builtin_popcountll(c.m[d]);
    for (int i = 0; i < shape.caveats; ++i) {
      n *= ((c.absent_ok >> i) & 1) + ((c.present_ok >> i) & 1);
    }
    total += n;
  }
  return total;
}

}  // namespace gatehouse::policy
