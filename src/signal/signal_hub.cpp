// SignalHub: ring buffer with sequence numbers; each receiver keeps its own read position.
#include "theus/signal_hub.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <vector>

namespace theus {
namespace detail {

struct Channel {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> ring;
  uint64_t head = 0;        // sequence number of the next message
  size_t senders = 0;       // live hub handles
  std::vector<std::weak_ptr<ReceiverState>> receivers;

  size_t live_receivers_locked();
};

struct ReceiverState {
  std::shared_ptr<Channel> ch;
  uint64_t next = 0;  // sequence number this receiver reads next
  int efd = -1;
  std::mutex fd_mu;

  ~ReceiverState() {
    if (efd >= 0) ::close(efd);
  }
  void wake() {
    std::lock_guard lock(fd_mu);
    if (efd >= 0) {
      uint64_t one = 1;
      ssize_t n = ::write(efd, &one, sizeof one);
      (void)n;  // a full counter already means "readable"
    }
  }
};

size_t Channel::live_receivers_locked() {
  size_t live = 0;
  std::erase_if(receivers, [](const std::weak_ptr<ReceiverState>& w) { return w.expired(); });
  live = receivers.size();
  return live;
}

}  // namespace detail

using detail::Channel;
using detail::ReceiverState;

namespace {
size_t round_up_pow2(size_t n) {
  size_t c = 1;
  while (c < n) c <<= 1;
  return c;
}
}  // namespace

SignalHub::SignalHub(size_t capacity) : ch_(std::make_shared<Channel>()) {
  ch_->ring.resize(round_up_pow2(capacity == 0 ? 1 : capacity));
  ch_->senders = 1;
}

SignalHub::SignalHub(const SignalHub& other) : ch_(other.ch_) {
  std::lock_guard lock(ch_->mu);
  ++ch_->senders;
}

SignalHub& SignalHub::operator=(const SignalHub& other) {
  if (this != &other) {
    SignalHub copy(other);
    std::swap(ch_, copy.ch_);
  }
  return *this;
}

SignalHub::~SignalHub() {
  if (!ch_) return;
  std::vector<std::shared_ptr<ReceiverState>> to_wake;
  {
    std::lock_guard lock(ch_->mu);
    if (--ch_->senders > 0) return;
    for (auto& w : ch_->receivers)
      if (auto r = w.lock()) to_wake.push_back(r);
  }
  ch_->cv.notify_all();
  for (auto& r : to_wake) r->wake();
}

size_t SignalHub::publish(std::string message) {
  std::vector<std::shared_ptr<ReceiverState>> to_wake;
  size_t live;
  {
    std::lock_guard lock(ch_->mu);
    ch_->ring[ch_->head % ch_->ring.size()] = std::move(message);
    ++ch_->head;
    live = ch_->live_receivers_locked();
    for (auto& w : ch_->receivers)
      if (auto r = w.lock(); r && r->efd >= 0) to_wake.push_back(std::move(r));
  }
  ch_->cv.notify_all();
  for (auto& r : to_wake) r->wake();
  return live;
}

SignalReceiver SignalHub::subscribe() {
  auto st = std::make_shared<ReceiverState>();
  st->ch = ch_;
  std::lock_guard lock(ch_->mu);
  st->next = ch_->head;
  ch_->receivers.push_back(st);
  return SignalReceiver(std::move(st));
}

size_t SignalHub::receiver_count() const {
  std::lock_guard lock(ch_->mu);
  return ch_->live_receivers_locked();
}

size_t SignalHub::capacity() const { return ch_->ring.size(); }

SignalReceiver::SignalReceiver(std::shared_ptr<ReceiverState> state) : st_(std::move(state)) {}
SignalReceiver::SignalReceiver(SignalReceiver&&) noexcept = default;
SignalReceiver& SignalReceiver::operator=(SignalReceiver&&) noexcept = default;
SignalReceiver::~SignalReceiver() = default;

namespace {

// Next message for `st` (lock held): a value, kLagged, kClosed, or nullopt when nothing is pending.
Result<std::optional<std::string>> take_locked(ReceiverState& st) {
  Channel& ch = *st.ch;
  uint64_t cap = ch.ring.size();
  uint64_t oldest = ch.head > cap ? ch.head - cap : 0;
  if (st.next < oldest) {
    uint64_t missed = oldest - st.next;
    st.next = oldest;
    return Status(ErrorCode::kLagged, "Channel Lagged: missed " + std::to_string(missed) + " messages");
  }
  if (st.next < ch.head) return std::optional<std::string>(ch.ring[st.next++ % cap]);
  if (ch.senders == 0) return Status(ErrorCode::kClosed, "Channel Closed");
  return std::optional<std::string>();
}

}  // namespace

Result<std::optional<std::string>> SignalReceiver::try_recv() {
  std::lock_guard lock(st_->ch->mu);
  return take_locked(*st_);
}

Result<std::string> SignalReceiver::recv() {
  std::unique_lock lock(st_->ch->mu);
  for (;;) {
    auto r = take_locked(*st_);
    if (!r.is_ok()) return r.status();
    if (*r) return std::move(**r);
    st_->ch->cv.wait(lock);
  }
}

Result<std::optional<std::string>> SignalReceiver::recv_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(st_->ch->mu);
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto r = take_locked(*st_);
    if (!r.is_ok() || *r) return r;
    if (st_->ch->cv.wait_until(lock, until) == std::cv_status::timeout) return take_locked(*st_);
  }
}

int SignalReceiver::wakeup_fd() {
  std::lock_guard lock(st_->ch->mu);  // publishers read efd under the channel lock
  std::lock_guard fd_lock(st_->fd_mu);
  if (st_->efd < 0) st_->efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return st_->efd;
}

void SignalReceiver::drain_wakeup() {
  std::lock_guard lock(st_->fd_mu);
  if (st_->efd >= 0) {
    uint64_t v;
    ssize_t n = ::read(st_->efd, &v, sizeof v);
    (void)n;  // EAGAIN: nothing to drain
  }
}

}  // namespace theus
