// Finding 8: audit-log and cosigner private keys sat in a std::array that
// was copied with every NoteSigner and never wiped. They now live in one
// move-only SecretKey, wiped when it dies or is moved from, and reached only
// through SecretKeyAccess.
#include "audit/secret_key.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "audit/note.h"
#include "gtest/gtest.h"

namespace gatehouse::audit {
namespace {

// A copy of a key is a second place it must be wiped from: none can be made.
static_assert(!std::is_copy_constructible_v<SecretKey>);
static_assert(!std::is_copy_assignable_v<SecretKey>);
static_assert(std::is_nothrow_move_constructible_v<SecretKey>);
static_assert(std::is_nothrow_move_assignable_v<SecretKey>);
static_assert(!std::is_copy_constructible_v<NoteSigner>);
static_assert(!std::is_copy_assignable_v<NoteSigner>);
static_assert(std::is_move_constructible_v<NoteSigner>);
// The bytes are reached only with a token.
static_assert(!std::is_invocable_v<decltype(&SecretKey::data), const SecretKey&>);
static_assert(std::is_invocable_v<decltype(&SecretKey::data), const SecretKey&, SecretKeyAccess>);

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

SecretKey Filled(size_t n) {
  SecretKey k(n);
  randombytes_buf(k.mutable_data(SecretKeyAccess()), n);
  k.mutable_data(SecretKeyAccess())[0] = 0xA5;  // never all zero
  return k;
}

TEST(SecretKeyTest, MovedFromKeyIsWiped) {
  ASSERT_GE(sodium_init(), 0);
  SecretKey a = Filled(64);
  uint8_t before[64];
  std::memcpy(before, a.data(SecretKeyAccess()), 64);
  SecretKey b(std::move(a));
  EXPECT_EQ(b.size(), 64u);
  EXPECT_EQ(std::memcmp(b.data(SecretKeyAccess()), before, 64), 0);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): checking the wipe
  EXPECT_TRUE(AllZero(a.data(SecretKeyAccess()), SecretKey::kMaxBytes));
  SecretKey c = Filled(32);
  c = std::move(b);
  EXPECT_EQ(std::memcmp(c.data(SecretKeyAccess()), before, 64), 0);
  EXPECT_TRUE(AllZero(b.data(SecretKeyAccess()), SecretKey::kMaxBytes));  // NOLINT
}

TEST(SecretKeyTest, DestroyedKeyLeavesNoBytesBehind) {
  ASSERT_GE(sodium_init(), 0);
  // The key built in storage of our own, destroyed, then the storage read:
  // no 8 consecutive bytes of the key are left anywhere in it.
  alignas(SecretKey) unsigned char storage[sizeof(SecretKey)];
  SecretKey* k = new (storage) SecretKey(Filled(64));
  uint8_t key[64];
  std::memcpy(key, k->data(SecretKeyAccess()), 64);
  const unsigned char* begin = storage;
  const unsigned char* end = storage + sizeof(storage);
  ASSERT_NE(std::search(begin, end, key, key + 8), end);  // the probe finds a live key
  k->~SecretKey();
  for (size_t i = 0; i + 8 <= 64; ++i) {
    EXPECT_EQ(std::search(begin, end, key + i, key + i + 8), end) << "key bytes " << i;
  }
}

TEST(SecretKeyTest, MovedFromSignerHoldsNoKey) {
  NoteSigner a = *NoteSigner::Generate("gatehouse.test/audit", kSigTypeEd25519);
  const std::string skey = a.PrivateKeyString(SecretKeyAccess());
  NoteSigner b = std::move(a);
  EXPECT_EQ(b.PrivateKeyString(SecretKeyAccess()), skey);
  // What the moved-from signer would write is a key of all-zero bytes.
  const std::string zero_seed = a.PrivateKeyString(SecretKeyAccess());  // NOLINT
  EXPECT_NE(zero_seed, skey);
  EXPECT_NE(zero_seed.find("+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), std::string::npos)
      << zero_seed;
  // The key string round-trips to the same signer.
  NoteSigner c = *NoteSigner::FromPrivateKey(skey);
  EXPECT_EQ(c.VerifierKeyString(), b.VerifierKeyString());
}

}  // namespace
}  // namespace gatehouse::audit
