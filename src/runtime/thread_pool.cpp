#include "src/runtime/thread_pool.h"

#include <algorithm>

namespace attn {

ThreadPool::ThreadPool(int n_threads) {
    for (int i = 1; i < std::max(1, n_threads); ++i) workers_.emplace_back(&ThreadPool::worker_loop, this, i);
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    work_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
}

void ThreadPool::parallel_for(int count, const std::function<void(int, int)>& body, int min_chunk) {
    if (count <= 0) return;
    const int n_chunks = std::max(1, std::min(size(), count / std::max(1, min_chunk)));
    if (n_chunks == 1) {
        body(0, count);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        chunks_.assign(size(), {0, 0});
        for (int i = 0; i < n_chunks; ++i)
            chunks_[i] = {int(int64_t(count) * i / n_chunks), int(int64_t(count) * (i + 1) / n_chunks)};
        body_ = &body;
        pending_ = int(workers_.size());
        ++generation_;
    }
    work_ready_.notify_all();
    body(chunks_[0].first, chunks_[0].second);
    std::unique_lock<std::mutex> lock(mutex_);
    work_done_.wait(lock, [this] { return pending_ == 0; });
    body_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
    uint64_t seen = 0;
    for (;;) {
        std::pair<int, int> chunk;
        const std::function<void(int, int)>* body;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            chunk = chunks_[index];
            body = body_;
        }
        if (chunk.first < chunk.second) (*body)(chunk.first, chunk.second);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (--pending_ == 0) work_done_.notify_one();
        }
    }
}

int default_thread_count() {
    return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace attn
