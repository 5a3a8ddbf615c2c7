#include "relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

namespace cloister::e2e {
namespace {

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// One direction of one connection: a streaming needle scan and a TLS record parser.
class StreamScanner {
 public:
  explicit StreamScanner(const std::vector<std::string>* needles) : needles_(needles) {
    for (const std::string& needle : *needles) longest_ = std::max(longest_, needle.size());
  }

  void Feed(const char* data, size_t size, RelayStats& stats) {
    if (size == 0) return;
    if (total_ == 0) {
      ++stats.streams;
      ++stats.tls_streams;  // until proven otherwise
      if (static_cast<uint8_t>(data[0]) == 22) ++stats.handshake_streams;
    }
    total_ += size;
    stats.bytes += size;
    // Needles: search the carried tail plus the new bytes; count only matches that end in the
    // new bytes (a match entirely in the tail was counted before).
    std::string window = carry_;
    window.append(data, size);
    for (const std::string& needle : *needles_) {
      for (size_t at = window.find(needle); at != std::string::npos;
           at = window.find(needle, at + 1)) {
        if (at + needle.size() > carry_.size()) ++stats.hits[needle];
      }
    }
    const size_t keep = longest_ > 0 ? std::min(window.size(), longest_ - 1) : 0;
    carry_ = window.substr(window.size() - keep);
    // TLS records: a 5-byte header (type, version, length), then the body.
    for (size_t i = 0; i < size && tls_; ++i) {
      const auto byte = static_cast<uint8_t>(data[i]);
      if (body_left_ > 0) {
        const size_t take = std::min<size_t>(body_left_, size - i);
        body_left_ -= take;
        i += take - 1;
        continue;
      }
      header_[header_size_++] = byte;
      if (header_size_ < 5) continue;
      header_size_ = 0;
      const uint8_t type = header_[0];
      const unsigned version = (unsigned{header_[1]} << 8) | header_[2];
      const size_t length = (size_t{header_[3]} << 8) | header_[4];
      if (type < 20 || type > 23 || (version != 0x0301 && version != 0x0303) || length == 0 ||
          length > (1u << 14) + 256) {
        tls_ = false;
        --stats.tls_streams;
        break;
      }
      if (type == 23) ++stats.application_records;
      body_left_ = length;
    }
  }

 private:
  const std::vector<std::string>* needles_;
  size_t longest_ = 0;
  std::string carry_;
  uint64_t total_ = 0;
  bool tls_ = true;
  uint8_t header_[5] = {};
  size_t header_size_ = 0;
  size_t body_left_ = 0;
};

}  // namespace

RelayStats& RelayStats::operator+=(const RelayStats& other) {
  connections += other.connections;
  bytes += other.bytes;
  streams += other.streams;
  tls_streams += other.tls_streams;
  handshake_streams += other.handshake_streams;
  application_records += other.application_records;
  for (const auto& [needle, count] : other.hits) hits[needle] += count;
  return *this;
}

struct Relay::State {
  uint16_t target = 0;
  uint16_t port = 0;
  int listener = -1;
  int stop_pipe[2] = {-1, -1};
  std::vector<std::string> needles;
  mutable std::mutex mutex;
  RelayStats stats;
  std::thread acceptor;
  struct PumpThread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<PumpThread> pumps;  // finished ones are joined at the next accept

  void Accept();
  void Pump(int client, int server);
};

void Relay::State::Accept() {
  for (;;) {
    pollfd fds[2] = {{listener, POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int client = ::accept(listener, nullptr, nullptr);
    if (client < 0) continue;
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in address = Loopback(target);
    if (server < 0 ||
        ::connect(server, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      if (server >= 0) ::close(server);
      ::close(client);
      continue;
    }
    std::lock_guard<std::mutex> lock(mutex);
    ++stats.connections;
    for (auto it = pumps.begin(); it != pumps.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = pumps.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    pumps.push_back({std::thread([this, client, server, done] {
                       Pump(client, server);
                       done->store(true);
                     }),
                     done});
  }
}

// Copies bytes both ways until both sides have closed (or the relay stops), scanning each.
void Relay::State::Pump(int client, int server) {
  StreamScanner upstream(&needles);    // client -> server
  StreamScanner downstream(&needles);  // server -> client
  bool client_open = true;
  bool server_open = true;
  char buffer[64 * 1024];
  while (client_open || server_open) {
    pollfd fds[3] = {{client_open ? client : -1, POLLIN, 0},
                     {server_open ? server : -1, POLLIN, 0},
                     {stop_pipe[0], POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) break;
    for (int side = 0; side < 2; ++side) {
      if (fds[side].revents == 0) continue;
      const int from = side == 0 ? client : server;
      const int to = side == 0 ? server : client;
      const ssize_t got = ::read(from, buffer, sizeof(buffer));
      if (got <= 0) {
        // EOF or error: pass the half-close on, stop reading this side.
        ::shutdown(to, SHUT_WR);
        (side == 0 ? client_open : server_open) = false;
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mutex);
        (side == 0 ? upstream : downstream).Feed(buffer, static_cast<size_t>(got), stats);
      }
      for (ssize_t sent = 0; sent < got;) {
        const ssize_t n = ::send(to, buffer + sent, static_cast<size_t>(got - sent), MSG_NOSIGNAL);
        if (n <= 0) {
          if (n < 0 && errno == EINTR) continue;
          client_open = server_open = false;
          break;
        }
        sent += n;
      }
    }
  }
  ::close(client);
  ::close(server);
}

Relay::Relay(std::unique_ptr<State> state) : state_(std::move(state)) {}

Relay::~Relay() {
  const char stop = 1;
  if (::write(state_->stop_pipe[1], &stop, 1) != 1) std::perror("relay: stop");
  if (state_->acceptor.joinable()) state_->acceptor.join();
  std::vector<State::PumpThread> pumps;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    pumps.swap(state_->pumps);
  }
  for (State::PumpThread& pump : pumps) pump.thread.join();
  ::close(state_->listener);
  ::close(state_->stop_pipe[0]);
  ::close(state_->stop_pipe[1]);
}

Result<std::unique_ptr<Relay>> Relay::Start(uint16_t target_port,
                                            std::vector<std::string> needles) {
  auto state = std::make_unique<State>();
  state->target = target_port;
  state->needles = std::move(needles);
  for (const std::string& needle : state->needles) state->stats.hits[needle] = 0;
  if (::pipe2(state->stop_pipe, O_CLOEXEC) != 0) return IoError("pipe: ", std::strerror(errno));
  state->listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof(address);
  if (state->listener < 0 ||
      ::bind(state->listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(state->listener, 64) != 0 ||
      ::getsockname(state->listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string reason = std::strerror(errno);
    if (state->listener >= 0) ::close(state->listener);
    ::close(state->stop_pipe[0]);
    ::close(state->stop_pipe[1]);
    return IoError("relay listen: ", reason);
  }
  state->port = ntohs(address.sin_port);
  State* raw = state.get();
  state->acceptor = std::thread([raw] { raw->Accept(); });
  return std::unique_ptr<Relay>(new Relay(std::move(state)));
}

uint16_t Relay::port() const { return state_->port; }

RelayStats Relay::stats() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->stats;
}

Result<uint16_t> FreeLocalPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return IoError("socket: ", std::strerror(errno));
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  const std::string reason = std::strerror(errno);
  ::close(fd);
  if (!ok) return IoError("free port: ", reason);
  return ntohs(address.sin_port);
}

}  // namespace cloister::e2e
