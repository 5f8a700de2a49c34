// The caching allocator's memory limit, OutOfMemory, and the byte sizes of CMT_MEMORY_LIMIT / --limit.
#include <cstdlib>
#include <map>
#include <string>

#include "engine/allocator.h"
#include "support/testing.h"

using namespace cmt;

namespace {

// Host memory behind a counter; `refuse_above` makes the system say no past a number of bytes, as
// cudaMalloc does on a full card.
class CountingAllocator final : public CachingAllocator {
 public:
  CountingAllocator() : CachingAllocator("test allocator") {}
  ~CountingAllocator() override { release_all(); }
  std::size_t system_bytes = 0, refuse_above = 0;

 protected:
  void* raw_allocate(std::size_t bytes) override {
    if (refuse_above != 0 && system_bytes + bytes > refuse_above) return nullptr;
    system_bytes += bytes;
    char* p = new char[bytes];
    sizes_[p] = bytes;
    return p;
  }
  void raw_free(void* ptr) override {
    system_bytes -= sizes_.at(ptr);
    sizes_.erase(ptr);
    delete[] static_cast<char*>(ptr);
  }

 private:
  std::map<void*, std::size_t> sizes_;
};

constexpr std::size_t kMiB = std::size_t{1} << 20;

std::string message_of(CachingAllocator& a, std::size_t bytes) {
  try {
    a.allocate(bytes);
  } catch (const OutOfMemory& e) {
    return e.what();
  }
  return "(no OutOfMemory)";
}

}  // namespace

TEST_CASE("allocator limit: a request past it empties the cache, then throws OutOfMemory naming the numbers") {
  CountingAllocator a;
  a.set_limit(10 * kMiB);
  CHECK(a.limit() == 10 * kMiB);
  void* kept = a.allocate(4 * kMiB);
  void* cached = a.allocate(2 * kMiB);
  a.deallocate(cached, 2 * kMiB);  // 6 MiB reserved, 4 in use
  CHECK(a.stats().bytes_reserved == 6 * kMiB);

  // 6 reserved + 6 > 10: the cached 2 MiB go back and the request fits in 4 + 6.
  void* six = a.allocate(6 * kMiB);
  AllocatorStats s = a.stats();
  CHECK(s.bytes_reserved == 10 * kMiB);
  CHECK(s.bytes_in_use == 10 * kMiB);
  CHECK(s.raw_frees == 1);

  // Nothing cached is left to give back: the next 2 MiB fail, and the type is distinct from cmt::Error's others.
  const std::string msg = message_of(a, 2 * kMiB);
  CHECK(msg.find("test allocator: out of memory") != std::string::npos);
  CHECK(msg.find("a request of 2 MiB (2097152 bytes)") != std::string::npos);
  CHECK(msg.find("with 10 MiB (10485760 bytes) in use") != std::string::npos);
  CHECK(msg.find("limit of 10 MiB (10485760 bytes)") != std::string::npos);
  CHECK_THROWS_AS(a.allocate(1), OutOfMemory);  // 512 bytes past a full limit
  s = a.stats();
  CHECK(s.bytes_in_use == 10 * kMiB);  // a failed request leaves the books as they were
  CHECK(s.raw_allocations == 3);

  // A freed block serves a request of its size even at the limit: the cache is inside it.
  a.deallocate(six, 6 * kMiB);
  void* again = a.allocate(6 * kMiB);
  CHECK(again == six);
  a.deallocate(again, 6 * kMiB);
  a.deallocate(kept, 4 * kMiB);

  // A larger limit lets the same request through; 0 removes the limit.
  a.set_limit(0);
  void* big = a.allocate(32 * kMiB);
  CHECK(a.stats().bytes_in_use == 32 * kMiB);
  a.deallocate(big, 32 * kMiB);
}

TEST_CASE("allocator limit: a refusal by the system is the same OutOfMemory, after the cache was given back") {
  CountingAllocator a;
  a.refuse_above = 8 * kMiB;
  void* p = a.allocate(4 * kMiB);
  a.deallocate(p, 4 * kMiB);  // cached; the system holds 4 MiB
  void* q = a.allocate(6 * kMiB);  // refused at first (4 + 6 > 8), served once the cache went back
  CHECK(a.stats().raw_frees == 1);
  const std::string msg = message_of(a, 4 * kMiB);
  CHECK(msg.find("the system refused a request of 4 MiB") != std::string::npos);
  CHECK(msg.find("with 6 MiB (6291456 bytes) in use (no limit set)") != std::string::npos);
  CHECK_THROWS_AS(a.allocate(4 * kMiB), cmt::Error);  // OutOfMemory is a cmt::Error: the CLI reports it as one
  a.deallocate(q, 6 * kMiB);
}

TEST_CASE("allocator limit: byte sizes of --limit and CMT_MEMORY_LIMIT") {
  CHECK(parse_byte_size("0", "--limit") == 0);
  CHECK(parse_byte_size("123456", "--limit") == 123456);
  CHECK(parse_byte_size("512K", "--limit") == 512 * 1024);
  CHECK(parse_byte_size("1.5m", "--limit") == 3 * kMiB / 2);
  CHECK(parse_byte_size("80G", "--limit") == std::size_t{80} << 30);
  for (const char* bad : {"", "G", "-1", "12X", "1.2.3", "80 G", "80GB", "0x10", "1e9", "99999999999G"}) {
    CAPTURE(bad);
    try {
      parse_byte_size(bad, "CMT_MEMORY_LIMIT");
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("CMT_MEMORY_LIMIT: '" + std::string(bad) + "'") != std::string::npos);
    }
  }
}

TEST_CASE("allocator limit: the process-wide allocators start with CMT_MEMORY_LIMIT") {
  // ctest runs this binary without the variable: no limit. (cmt bench memory's oracle test sets it.)
  const char* env = std::getenv("CMT_MEMORY_LIMIT");
  const std::size_t want = env && *env ? parse_byte_size(env, "CMT_MEMORY_LIMIT") : 0;
  CHECK(memory_limit_from_environment() == want);
  CHECK(host_allocator().limit() == want);
}
