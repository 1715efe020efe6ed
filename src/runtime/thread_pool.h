#pragma once
// A fixed set of worker threads for data-parallel loops. parallel_for splits [0, count) into one
// contiguous chunk per thread; the caller's thread takes the first chunk, so a pool of 1 spawns nothing.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace attn {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return int(workers_.size()) + 1; }
    // Runs body(begin, end) over disjoint chunks covering [0, count); returns when all are done.
    // Chunks are at least `min_chunk` long so tiny loops stay on one thread.
    void parallel_for(int count, const std::function<void(int begin, int end)>& body, int min_chunk = 1);

private:
    void worker_loop(int index);

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable work_ready_;
    std::condition_variable work_done_;
    const std::function<void(int, int)>* body_ = nullptr;
    std::vector<std::pair<int, int>> chunks_;
    uint64_t generation_ = 0;
    int pending_ = 0;
    bool stopping_ = false;
};

int default_thread_count();

}  // namespace attn
