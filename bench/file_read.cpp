// file_read: read a page-cached file in 64 KiB chunks (DESIGN.md §5).
//
// The file ($TMPDIR or /tmp, 1 GiB; 64 MiB with --quick) is written once, kept across
// runs, and read through once before timing so that every contender reads from the page
// cache. Every 8-byte word holds its own file offset; each chunk's first and last words
// are checked and the bytes counted, so a read at the wrong offset or a short count fails
// the run. `gib_per_s` is the read bandwidth.
//  - coring:     32 reader tasks on the shared runtime (queue depth 32), each taking the
//                next chunk and awaiting coring::file::read_at;
//  - std_thread: pread(2) on 2 threads (as DESIGN.md states the target) taking chunks the
//                same way.
#include "harness.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace {

namespace cb = coring::bench;

constexpr std::size_t chunk = 64 * 1024;
constexpr unsigned queue_depth = 32;
constexpr unsigned pread_threads = 2;

[[noreturn]] void throw_errno(const std::string& what) { throw std::system_error(errno, std::system_category(), what); }

std::string data_path(std::uint64_t bytes) {
  const char* dir = std::getenv("TMPDIR");
  std::string d = (dir != nullptr && *dir != '\0') ? dir : "/tmp";
  return d + "/coring_bench_file_read_" + std::to_string(bytes >> 20) + "MiB.dat";
}

// Creates the file unless one of the right size exists, then reads it once so that it is
// in the page cache. Returns the path.
std::string prepare_file(std::uint64_t bytes) {
  const std::string path = data_path(bytes);
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != bytes) {
    const std::string tmp = path + ".tmp" + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("file_read: create " + tmp);
    std::vector<std::uint64_t> words(chunk / sizeof(std::uint64_t));
    for (std::uint64_t off = 0; off < bytes; off += chunk) {
      for (std::size_t w = 0; w < words.size(); ++w) words[w] = off + w * sizeof(std::uint64_t);
      if (::pwrite(fd, words.data(), chunk, static_cast<off_t>(off)) != static_cast<ssize_t>(chunk)) {
        ::close(fd);
        throw_errno("file_read: write " + tmp);
      }
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("file_read: rename to " + path);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("file_read: open " + path);
  std::vector<std::byte> buf(1 << 20);
  while (::read(fd, buf.data(), buf.size()) > 0) {
  }
  ::close(fd);
  return path;
}

// The check of one chunk read at `offset`: its first and last words carry their offsets.
bool chunk_ok(const std::byte* p, std::size_t n, std::uint64_t offset) {
  if (n != chunk) return false;
  std::uint64_t first = 0, last = 0;
  std::memcpy(&first, p, sizeof first);
  std::memcpy(&last, p + n - sizeof last, sizeof last);
  return first == offset && last == offset + n - sizeof last;
}

coring::task<std::uint64_t> coring_reader(const coring::file& f, std::atomic<std::uint64_t>& next, std::uint64_t chunks) {
  std::vector<std::byte> buf(chunk);
  std::uint64_t good = 0;
  // relaxed: the counter only hands out distinct chunks; the gather publishes `good`.
  for (std::uint64_t c = next.fetch_add(1, std::memory_order_relaxed); c < chunks;
       c = next.fetch_add(1, std::memory_order_relaxed)) {
    const std::size_t n = co_await f.read_at(buf, c * chunk);
    if (chunk_ok(buf.data(), n, c * chunk)) good += n;
  }
  co_return good;
}

coring::task<std::uint64_t> coring_job(std::string path, std::uint64_t bytes) {
  coring::file f = co_await coring::file::open(path, O_RDONLY);
  std::atomic<std::uint64_t> next{0};
  std::vector<coring::task<std::uint64_t>> readers;
  for (unsigned i = 0; i < queue_depth; ++i) readers.push_back(coring_reader(f, next, bytes / chunk));
  const std::vector<std::uint64_t> good = co_await coring::gather(std::move(readers));
  co_await f.close();
  std::uint64_t total = 0;
  for (std::uint64_t g : good) total += g;
  co_return total;
}

std::uint64_t pread_job(const std::string& path, std::uint64_t bytes, unsigned thread_count) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("file_read: open " + path);
  std::atomic<std::uint64_t> next{0};
  std::vector<std::uint64_t> good(thread_count, 0);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < thread_count; ++t) {
    pool.emplace_back([&, t] {
      std::vector<std::byte> buf(chunk);
      const std::uint64_t chunks = bytes / chunk;
      for (std::uint64_t c = next.fetch_add(1, std::memory_order_relaxed); c < chunks;
           c = next.fetch_add(1, std::memory_order_relaxed)) {
        const ssize_t n = ::pread(fd, buf.data(), chunk, static_cast<off_t>(c * chunk));
        if (n > 0 && chunk_ok(buf.data(), static_cast<std::size_t>(n), c * chunk)) good[t] += static_cast<std::uint64_t>(n);
      }
    });
  }
  for (std::thread& th : pool) th.join();
  ::close(fd);
  std::uint64_t total = 0;
  for (std::uint64_t g : good) total += g;
  return total;
}

template <class Job>
void add_contender(const char* contender, std::uint64_t bytes, unsigned thread_count, unsigned depth, Job job) {
  cb::add("file_read", contender, bytes >> 20, [bytes, thread_count, depth, job](benchmark::State& state) {
    std::string path;
    try {
      path = prepare_file(bytes);
    } catch (const std::exception& e) {
      cb::fail(state, e.what());
      return;
    }
    const auto result = cb::time_jobs(state, [&] { return job(path, bytes); });
    if (!result.ok) return;
    cb::verify(state, result.value, bytes, "bytes read and checked");
    cb::report_threads(state, thread_count);
    if (result.seconds > 0) {
      state.counters["gib_per_s"] = benchmark::Counter(static_cast<double>(bytes) * static_cast<double>(result.jobs) /
                                                       result.seconds / (1024.0 * 1024.0 * 1024.0));
    }
    state.counters["queue_depth"] = benchmark::Counter(depth);
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  const unsigned t = threads();
  // The size in the name is in MiB.
  const std::uint64_t bytes = quick() ? (std::uint64_t{64} << 20) : (std::uint64_t{1} << 30);
  add_contender("coring", bytes, t, queue_depth,
                [](const std::string& path, std::uint64_t n) { return shared_runtime().block_on(coring_job(path, n)); });
  // DESIGN.md states the target against pread on 2 threads, whatever --workers says.
  add_contender("std_thread", bytes, pread_threads, pread_threads,
                [](const std::string& path, std::uint64_t n) { return pread_job(path, n, pread_threads); });
}
