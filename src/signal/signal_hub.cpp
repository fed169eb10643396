// SignalHub: a ring of `capacity` slots indexed by sequence number; each receiver keeps its own
// read position. One mutex per channel guards everything, and publish / receive hold it for O(1)
// work: the message is moved into its slot (the evicted one is freed after unlocking), and the
// last receiver to read a slot moves the message out instead of copying it.
// Wake-ups cost nothing when nobody waits: publish notifies the condition variable only while a
// blocking receiver waits on it, and writes a receiver's eventfd only while that receiver is armed
// (an event loop is waiting on it, see SignalReceiver::try_recv_or_arm).
#include "theus/signal_hub.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <utility>
#include <vector>

namespace theus {
namespace detail {

struct Slot {
  std::string msg;
  size_t unread = 0;  // receivers registered at publish time that have not read it yet
};

struct Channel {
  std::mutex mu;
  std::condition_variable cv;  // blocking receivers wait here
  // Everything below is guarded by `mu`.
  std::vector<Slot> ring;                 // size is a power of two
  uint64_t mask = 0;                      // ring.size() - 1
  uint64_t head = 0;                      // sequence number of the next message
  size_t senders = 1;                     // live hub handles; 0 means closed
  size_t blocked = 0;                     // receivers waiting on `cv`
  size_t armed = 0;                       // receivers with an armed eventfd
  std::vector<ReceiverState*> receivers;  // live receivers; each unregisters in its destructor

  void wake_armed_locked();
};

struct ReceiverState {
  explicit ReceiverState(std::shared_ptr<Channel> channel) : ch(std::move(channel)) {}
  ~ReceiverState();

  std::shared_ptr<Channel> ch;
  // Guarded by ch->mu.
  uint64_t next = 0;  // sequence number this receiver reads next
  size_t index = 0;   // position in ch->receivers
  bool armed = false;
  // Created once under ch->mu, closed by the destructor; drain_wakeup() reads it without the lock.
  std::atomic<int> efd{-1};
};

namespace {

void signal_fd(int fd) {
  uint64_t one = 1;
  ssize_t n = ::write(fd, &one, sizeof one);
  (void)n;  // EAGAIN means the counter is saturated: the descriptor is readable anyway
}

}  // namespace

void Channel::wake_armed_locked() {
  for (ReceiverState* r : receivers) {
    if (r->armed) {
      r->armed = false;
      signal_fd(r->efd.load(std::memory_order_relaxed));
    }
  }
  armed = 0;
}

ReceiverState::~ReceiverState() {
  {
    std::lock_guard lock(ch->mu);
    auto& all = ch->receivers;
    if (index < all.size() && all[index] == this) {  // false only if subscribe() failed midway
      all[index] = all.back();
      all[index]->index = index;
      all.pop_back();
    }
    if (armed) --ch->armed;
  }
  if (int fd = efd.load(); fd >= 0) ::close(fd);
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

// The next message for `st` (channel lock held): a value, kLagged, kClosed, or an empty optional
// when nothing is pending.
Result<std::optional<std::string>> take_locked(ReceiverState& st) {
  Channel& ch = *st.ch;
  uint64_t cap = ch.mask + 1;
  uint64_t oldest = ch.head > cap ? ch.head - cap : 0;
  if (st.next < oldest) {
    uint64_t missed = oldest - st.next;
    st.next = oldest;
    return Status(ErrorCode::kLagged,
                  "Channel Lagged: missed " + std::to_string(missed) + " messages");
  }
  if (st.next < ch.head) {
    detail::Slot& slot = ch.ring[st.next++ & ch.mask];
    // Only receivers registered when the message was published can read it, each at most once,
    // so the last of them may take the string itself.
    if (slot.unread <= 1) {
      slot.unread = 0;
      return std::optional<std::string>(std::move(slot.msg));
    }
    --slot.unread;
    return std::optional<std::string>(slot.msg);
  }
  if (ch.senders == 0) return Status(ErrorCode::kClosed, "Channel Closed");
  return std::optional<std::string>();
}

}  // namespace

SignalHub::SignalHub(size_t capacity) : ch_(std::make_shared<Channel>()) {
  ch_->ring.resize(round_up_pow2(capacity == 0 ? 1 : capacity));
  ch_->mask = ch_->ring.size() - 1;
}

SignalHub::SignalHub(const SignalHub& other) : ch_(other.ch_) {
  std::lock_guard lock(ch_->mu);
  ++ch_->senders;
}

SignalHub& SignalHub::operator=(const SignalHub& other) {
  if (this != &other) {
    SignalHub copy(other);
    std::swap(ch_, copy.ch_);  // `copy` now releases our old channel
  }
  return *this;
}

SignalHub::~SignalHub() {
  {
    std::lock_guard lock(ch_->mu);
    if (--ch_->senders > 0) return;
    ch_->wake_armed_locked();
  }
  ch_->cv.notify_all();  // blocked receivers drain what is left, then see kClosed
}

size_t SignalHub::publish(std::string message) {
  Channel& ch = *ch_;
  size_t live;
  bool notify;
  {
    std::lock_guard lock(ch.mu);
    detail::Slot& slot = ch.ring[ch.head & ch.mask];
    slot.msg.swap(message);  // `message` now holds the evicted one, freed after unlocking
    live = ch.receivers.size();
    slot.unread = live;
    ++ch.head;
    if (ch.armed > 0) ch.wake_armed_locked();
    notify = ch.blocked > 0;
  }
  // Safe outside the lock: a receiver increments `blocked` and waits atomically under it.
  if (notify) ch.cv.notify_all();
  return live;
}

SignalReceiver SignalHub::subscribe() {
  auto st = std::make_shared<ReceiverState>(ch_);
  std::lock_guard lock(ch_->mu);
  st->next = ch_->head;
  st->index = ch_->receivers.size();
  ch_->receivers.push_back(st.get());
  return SignalReceiver(std::move(st));
}

size_t SignalHub::receiver_count() const {
  std::lock_guard lock(ch_->mu);
  return ch_->receivers.size();
}

size_t SignalHub::capacity() const { return ch_->mask + 1; }

SignalReceiver::SignalReceiver(std::shared_ptr<ReceiverState> state) : st_(std::move(state)) {}
SignalReceiver::SignalReceiver(SignalReceiver&&) noexcept = default;
SignalReceiver& SignalReceiver::operator=(SignalReceiver&&) noexcept = default;
SignalReceiver::~SignalReceiver() = default;

Result<std::optional<std::string>> SignalReceiver::try_recv() {
  std::lock_guard lock(st_->ch->mu);
  return take_locked(*st_);
}

Result<std::string> SignalReceiver::recv() {
  Channel& ch = *st_->ch;
  std::unique_lock lock(ch.mu);
  for (;;) {
    auto r = take_locked(*st_);
    if (!r.is_ok()) return r.status();
    if (*r) return std::move(**r);
    ++ch.blocked;
    ch.cv.wait(lock);
    --ch.blocked;
  }
}

Result<std::optional<std::string>> SignalReceiver::recv_for(std::chrono::milliseconds timeout) {
  Channel& ch = *st_->ch;
  std::unique_lock lock(ch.mu);
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto r = take_locked(*st_);
    if (!r.is_ok() || *r) return r;
    ++ch.blocked;
    std::cv_status waited = ch.cv.wait_until(lock, until);
    --ch.blocked;
    if (waited == std::cv_status::timeout) return take_locked(*st_);
  }
}

namespace {

// The receiver's eventfd, created on first use (channel lock held); -1 if unavailable.
int ensure_fd_locked(ReceiverState& st) {
  int fd = st.efd.load(std::memory_order_relaxed);
  if (fd < 0) {
    fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    st.efd.store(fd, std::memory_order_release);
  }
  return fd;
}

}  // namespace

Result<std::optional<std::string>> SignalReceiver::try_recv_or_arm() {
  Channel& ch = *st_->ch;
  std::lock_guard lock(ch.mu);
  auto r = take_locked(*st_);
  if (!r.is_ok() || *r) return r;
  if (ensure_fd_locked(*st_) < 0)
    return Status(ErrorCode::kInternal, "SignalReceiver: no wake-up descriptor available");
  if (!st_->armed) {
    st_->armed = true;
    ++ch.armed;
  }
  return r;
}

void SignalReceiver::disarm() {
  std::lock_guard lock(st_->ch->mu);
  if (st_->armed) {
    st_->armed = false;
    --st_->ch->armed;
  }
}

int SignalReceiver::wakeup_fd() {
  std::lock_guard lock(st_->ch->mu);
  return ensure_fd_locked(*st_);
}

const void* SignalReceiver::channel_id() const noexcept { return st_->ch.get(); }

void SignalReceiver::drain_wakeup() {
  if (int fd = st_->efd.load(std::memory_order_acquire); fd >= 0) {
    uint64_t count;
    ssize_t n = ::read(fd, &count, sizeof count);
    (void)n;  // EAGAIN: nothing to drain
  }
}

}  // namespace theus
