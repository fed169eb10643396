// SignalHub / SignalReceiver: a bounded broadcast channel of transient string events.
// Every receiver sees every message published after it subscribed, in order. A receiver may lag
// by at most `capacity` messages (requested capacity rounded up to a power of two; 100 -> 128);
// beyond that the oldest are lost and the next receive reports kLagged ("Channel Lagged: missed N
// messages") once, then resumes with the oldest message still held. When every hub handle is
// gone, receivers drain what is left and then get kClosed ("Channel Closed").
// Thread-safety: every method of both classes is thread-safe. Concurrent receives on one receiver
// are serialized: each message goes to exactly one of them.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "theus/status.hpp"

namespace theus {

namespace detail {
struct Channel;
struct ReceiverState;
}  // namespace detail

class SignalReceiver;

class SignalHub {
 public:
  // A new channel holding the last `capacity` messages (rounded up to a power of two, min 1).
  explicit SignalHub(size_t capacity = 100);
  SignalHub(const SignalHub& other);  // another handle on the same channel
  SignalHub& operator=(const SignalHub& other);
  ~SignalHub();  // the last handle closes the channel

  // Broadcasts `message`; returns the number of live receivers (0 is not an error). O(1) unless
  // receivers are waiting on their wake-up descriptors (then O(receivers)).
  size_t publish(std::string message);
  // A receiver that sees only the messages published after this call.
  SignalReceiver subscribe();
  size_t receiver_count() const;
  size_t capacity() const;
  // Opaque identity of the channel: equal for every handle and receiver of one channel.
  const void* channel_id() const noexcept { return ch_.get(); }

 private:
  std::shared_ptr<detail::Channel> ch_;
};

// Destroying a receiver unsubscribes it: it no longer counts in publish().
class SignalReceiver {
 public:
  SignalReceiver(SignalReceiver&&) noexcept;
  SignalReceiver& operator=(SignalReceiver&&) noexcept;
  ~SignalReceiver();

  // Blocks until a message arrives. Errors: kLagged, kClosed.
  Result<std::string> recv();
  // Waits at most `timeout`; an empty optional when nothing arrived.
  Result<std::optional<std::string>> recv_for(std::chrono::milliseconds timeout);
  // Never blocks; an empty optional when nothing is pending.
  Result<std::optional<std::string>> try_recv();

  // Event-loop support. wakeup_fd() is an eventfd (created on first use; -1 if unavailable) that
  // becomes readable only while the receiver is *armed*. try_recv_or_arm() is try_recv() that,
  // when nothing is pending, arms the receiver in the same critical section: the next publish
  // (or the close) then disarms it and makes the descriptor readable. A message published
  // concurrently is therefore either returned or signalled, never missed. Arming is one-shot:
  // after a wake-up, drain_wakeup() and call try_recv_or_arm() again. Errors: as try_recv(), plus
  // kInternal when no descriptor can be created.
  Result<std::optional<std::string>> try_recv_or_arm();
  void disarm();  // stop signalling the descriptor (a cancelled wait)
  int wakeup_fd();
  void drain_wakeup();  // reads the descriptor's counter back to zero (non-blocking)

  // Opaque identity of the channel (see SignalHub::channel_id).
  const void* channel_id() const noexcept;

 private:
  friend class SignalHub;
  explicit SignalReceiver(std::shared_ptr<detail::ReceiverState> state);
  std::shared_ptr<detail::ReceiverState> st_;
};

}  // namespace theus
