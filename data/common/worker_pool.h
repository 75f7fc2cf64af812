// A fixed set of threads that run parallel loops. Threads persist across loops, so their thread-local
// state (the tokenizer's piece cache) stays warm from one batch to the next.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace zen {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);  // threads <= 0: one per core
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs body(i) for every i in [0, n), spread over the pool and the calling thread; returns when all
  // are done. One loop at a time.
  void ParallelFor(size_t n, const std::function<void(size_t)>& body);
  int Threads() const { return static_cast<int>(helpers_.size()) + 1; }

 private:
  void HelperLoop();
  void RunItems();

  std::vector<std::thread> helpers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t)>* body_ = nullptr;
  size_t n_ = 0;
  std::atomic<size_t> next_{0};  // next item to hand out
  size_t busy_ = 0;          // helpers still inside the current loop
  unsigned generation_ = 0;  // bumps once per loop so helpers see new work
  bool stop_ = false;
};

}  // namespace zen
