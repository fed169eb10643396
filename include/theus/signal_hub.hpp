// SignalHub / SignalReceiver: a bounded broadcast channel of transient string events.
// Every receiver sees every message published after it subscribed, in order. A receiver may lag
// by at most `capacity` messages (requested capacity rounded up to a power of two; 100 -> 128);
// beyond that the oldest are lost and the next recv reports kLagged ("Channel Lagged: missed N
// messages") once, then resumes with the oldest message still held. When every hub handle is
// gone, receivers drain what is left and then get kClosed ("Channel Closed").
// Thread-safety: all methods are thread-safe; a SignalReceiver is used by one thread at a time.
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
  explicit SignalHub(size_t capacity = 100);
  SignalHub(const SignalHub& other);  // another handle on the same channel
  SignalHub& operator=(const SignalHub& other);
  ~SignalHub();

  // Broadcasts `message`; returns the number of live receivers (0 is not an error).
  size_t publish(std::string message);
  SignalReceiver subscribe();
  size_t receiver_count() const;
  size_t capacity() const;

 private:
  std::shared_ptr<detail::Channel> ch_;
};

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
  // A file descriptor that becomes readable when a message (or close) may be pending; for event
  // loops. Read it (8 bytes) to re-arm. Created on first use; -1 if unavailable.
  int wakeup_fd();
  void drain_wakeup();

 private:
  friend class SignalHub;
  explicit SignalReceiver(std::shared_ptr<detail::ReceiverState> state);
  std::shared_ptr<detail::ReceiverState> st_;
};

}  // namespace theus
