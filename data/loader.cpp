// Workers claim whole batches in order (batch b of the run: epoch b / batches_per_epoch)
// and store them by number; next() hands them out by number, so the sequence does not
// depend on which thread finishes first. Each sample's augmentation draws from its own
// Generator, seeded by (seed, epoch, position in the epoch), and each epoch's order from
// Generator(seed + epoch): batch b is a function of b alone, which also makes skip() exact.
// Workers stay at most `prefetch` batches ahead of the consumer; an error is stored in
// place of its batch and rethrown when next() reaches it.
#include "data/loader.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "data/augment.h"
#include "data/seed_mix.h"
#include "layers/std/std_extras.h"

namespace tdseg {

struct Loader::Impl {
  struct Result {
    Batch batch;
    std::exception_ptr error;
  };
  struct Claim {
    int64_t batch, epoch;
    size_t begin;                 // position of the first sample in the epoch's order
    std::vector<size_t> indices;  // dataset indices
  };

  const Dataset& dataset;
  const LoaderOptions opt;
  const int64_t per_epoch;
  const bool repeat;  // training: epochs without end

  std::mutex mu;
  std::condition_variable wake_workers, wake_consumer;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  int64_t cursor = 0;   // the batch next() returns next
  int64_t claimed = 0;  // the batch a worker takes next
  std::map<int64_t, Result> ready;
  int64_t order_epoch = -1;  // the epoch whose sample order `order` holds
  std::vector<size_t> order;

  Impl(const Dataset& d, const LoaderOptions& o, int64_t batches)
      : dataset(d), opt(o), per_epoch(batches), repeat(o.augment) {}
  ~Impl() { halt(); }

  bool finished(int64_t b) const { return !repeat && b >= per_epoch; }

  // With mu held. Claims go up one by one (skip() aside), so one cached order suffices.
  Claim claim(int64_t b) {
    const int64_t epoch = b / per_epoch, n = static_cast<int64_t>(dataset.size());
    if (epoch != order_epoch) {
      order.resize(n);
      for (int64_t i = 0; i < n; ++i) order[i] = i;
      if (opt.shuffle) {  // Fisher-Yates spelled out: std::shuffle's draws are the library's
        Generator gen(opt.seed + epoch);
        for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.integer(0, i)]);
      }
      order_epoch = epoch;
    }
    const size_t begin = (b % per_epoch) * opt.batch_size;
    const size_t end = std::min(begin + opt.batch_size, order.size());
    return {b, epoch, begin, std::vector<size_t>(order.begin() + begin, order.begin() + end)};
  }

  Sample prepare(const Claim& c, size_t j) const {
    Sample s = dataset.get(c.indices[j]);
    if (opt.augment) {
      Generator gen(mix_seed(mix_seed(opt.seed, c.epoch), c.begin + j));
      return augment_train(s, opt, gen);
    }
    check<ShapeError>(s.mask.dim() == 2 && s.image.dim() == 3 &&
                          s.mask.size(0) == s.image.size(1) && s.mask.size(1) == s.image.size(2),
                      "loader: sample ", s.id, ": image ", shape_str(s.image.shape()), " and mask ",
                      shape_str(s.mask.shape()), " differ in size");
    return prepare_eval(s, opt);
  }

  Tensor host_tensor(const Shape& shape, DType dtype) const {
    return opt.pin_memory ? Tensor::empty_pinned(shape, dtype) : Tensor::empty(shape, dtype);
  }

  // The batch of a claim; an undefined one when stopped midway.
  Batch make(const Claim& c) const {
    const int64_t N = static_cast<int64_t>(c.indices.size());
    Batch batch;
    int64_t H = 0, W = 0;
    for (int64_t j = 0; j < N; ++j) {
      if (stop) return {};
      const Sample s = prepare(c, j);
      if (j == 0) {
        H = s.image.size(1);
        W = s.image.size(2);
        batch.images = host_tensor({N, 3, H, W}, DType::Float32);
        batch.masks = host_tensor({N, H, W}, DType::Int32);
      }
      if (j > 0)
        check<ShapeError>(s.image.size(1) == H && s.image.size(2) == W, "loader: sample ", s.id,
                          " is ", s.image.size(1), "x", s.image.size(2), " but sample ",
                          batch.ids[0], " of its batch is ", H, "x", W,
                          "; evaluate images of different sizes with a crop or batch size 1");
      const Tensor image = normalise(s.image, opt.mean, opt.std);
      std::copy_n(image.data<float>(), 3 * H * W, batch.images.data<float>() + j * 3 * H * W);
      const Tensor mask = s.mask.contiguous();
      std::copy_n(mask.data<int32_t>(), H * W, batch.masks.data<int32_t>() + j * H * W);
      batch.ids.push_back(s.id);
    }
    batch.volumes = volumes_from_labels(batch.masks, dataset.classes(), DType::Float32);
    const int64_t star = dataset.star_class();
    if (star >= 0) {
      Tensor u = Tensor::empty({N, 1, H, W});
      const int32_t* m = batch.masks.data<int32_t>();
      float* inside = u.data<float>();
      for (int64_t k = 0; k < N * H * W; ++k) inside[k] = m[k] == star ? 1.f : 0.f;
      batch.centers = star_centroids(u, 0);
    }
    return batch;
  }

  void work() {
    for (;;) {
      Claim c;
      Result r;
      {
        std::unique_lock<std::mutex> lock(mu);
        wake_workers.wait(
            lock, [&] { return stop || finished(claimed) || claimed < cursor + opt.prefetch; });
        if (stop || finished(claimed)) return;
        c.batch = claimed++;
        try {
          c = claim(c.batch);
        } catch (...) {
          r.error = std::current_exception();
        }
      }
      if (!r.error) {
        try {
          r.batch = make(c);
        } catch (...) {
          r.error = std::current_exception();
        }
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stop) return;
        ready.emplace(c.batch, std::move(r));
      }
      wake_consumer.notify_all();
    }
  }

  void start() {
    for (int k = 0; k < opt.workers; ++k) threads.emplace_back([this] { work(); });
  }

  void halt() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    wake_workers.notify_all();
    for (std::thread& t : threads) t.join();
    threads.clear();
    ready.clear();
    stop = false;
  }

  bool next(Batch& out) {
    if (finished(cursor)) return false;
    if (opt.workers == 0) {  // on the calling thread; an error leaves the cursor in place
      out = make(claim(cursor));
      ++cursor;
      return true;
    }
    if (threads.empty()) start();
    std::unique_lock<std::mutex> lock(mu);
    wake_consumer.wait(lock, [&] { return ready.count(cursor) > 0; });
    auto it = ready.find(cursor);
    // A failed batch stays: every later call rethrows its error.
    if (it->second.error) std::rethrow_exception(it->second.error);
    out = std::move(it->second.batch);
    ready.erase(it);
    ++cursor;
    lock.unlock();
    wake_workers.notify_all();
    return true;
  }
};

namespace {

int64_t count_batches(const Dataset& d, const LoaderOptions& o) {
  const int64_t n = static_cast<int64_t>(d.size());
  check<ValueError>(n > 0, "loader: dataset ", d.name(), " has no samples");
  check<ValueError>(o.batch_size >= 1, "loader: batch size ", o.batch_size, " must be >= 1");
  check<ValueError>(o.workers >= 0, "loader: ", o.workers, " workers; expected >= 0");
  check<ValueError>(o.prefetch >= 1, "loader: prefetch ", o.prefetch, " must be >= 1");
  const bool no_crop = o.crop[0] == 0 && o.crop[1] == 0;
  check<ValueError>((o.crop[0] > 0 && o.crop[1] > 0) || (no_crop && !o.augment), "loader: crop ",
                    o.crop[0], "x", o.crop[1], " must be positive (or 0x0, no crop, to evaluate)");
  check<ValueError>(o.min_scale > 0 && o.max_scale >= o.min_scale, "loader: scale range [",
                    o.min_scale, ", ", o.max_scale, "] must be positive and ordered");
  for (float s : o.std) check<ValueError>(s > 0, "loader: std ", s, " must be positive");
  const int64_t batches = o.drop_last ? n / o.batch_size : (n + o.batch_size - 1) / o.batch_size;
  check<ValueError>(batches > 0, "loader: dataset ", d.name(), " has ", n,
                    " samples, not one full batch of ", o.batch_size,
                    "; lower the batch size or keep the last partial batch");
  return batches;
}

}  // namespace

Loader::Loader(const Dataset& dataset, const LoaderOptions& options)
    : impl_(std::make_unique<Impl>(dataset, options, count_batches(dataset, options))) {}

Loader::~Loader() = default;

bool Loader::next(Batch& batch) { return impl_->next(batch); }

int64_t Loader::batches_per_epoch() const { return impl_->per_epoch; }

void Loader::skip(int64_t batches) {
  check<ValueError>(batches >= 0, "loader: cannot skip ", batches, " batches");
  impl_->halt();
  impl_->cursor = impl_->claimed = batches;
}

}  // namespace tdseg
