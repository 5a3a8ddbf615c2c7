// cloisterd: one node of a Cloister service serving the example messaging application
// (docs/operations.md). `cloisterd start --config F` founds a service, `cloisterd join --config F`
// joins one, `cloisterd recover --config F --ledger DIR...` starts a new service from the ledgers
// of a lost one (docs/recovery.md); security-critical options may be given on the command line,
// where they override the file. Exit status: 0 after SIGINT/SIGTERM, 1 when the node fails or is
// refused, 2 for usage and configuration errors.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <vector>

#include "cloister/apps/messaging_app.h"
#include "cloister/node/attester_factory.h"
#include "cloister/node/config.h"
#include "cloister/node/node.h"

namespace {

using cloister::Result;
using cloister::Status;
namespace node = cloister::node;
namespace tee = cloister::tee;

struct Flags {
  std::string config;
  std::string platform;
  std::string data_dir;
  std::string node_listen;
  std::string client_listen;
  std::string virtual_measurement;
  bool virtual_debug = false;
  std::string ready_file;
  std::string policy;
  std::string service_cert_out;
  std::string target;
  std::string service_cert;
  std::vector<std::string> ledgers;
};

enum class Mode { kStart, kJoin, kRecover };

void AddNodeFlags(CLI::App* command, Flags* flags) {
  command->add_option("--config", flags->config, "TOML configuration file")->required();
  command->add_option("--platform", flags->platform, "auto|virtual|sev-snp|tdx|sgx|nitro");
  command->add_option("--data-dir", flags->data_dir, "ledger directory (must be empty)");
  command->add_option("--node-listen", flags->node_listen, "host:port of node-to-node channels");
  command->add_option("--client-listen", flags->client_listen, "host:port of the client API");
  command->add_option("--virtual-measurement", flags->virtual_measurement,
                      "platform virtual: measurement to report (96 hex)");
  command->add_flag("--virtual-debug", flags->virtual_debug, "platform virtual: a debug TEE");
  command->add_option("--ready-file", flags->ready_file, "written once the node serves");
}

Status Override(const Flags& flags, Mode mode, node::NodeConfig* config) {
  if (!flags.platform.empty()) config->node.platform = flags.platform;
  if (!flags.data_dir.empty()) config->node.data_dir = flags.data_dir;
  if (!flags.ready_file.empty()) config->node.ready_file = flags.ready_file;
  if (flags.virtual_debug) config->node.virtual_debug = true;
  if (!flags.virtual_measurement.empty()) {
    Result<cloister::Bytes> measurement = cloister::FromHex(flags.virtual_measurement);
    if (!measurement.ok() || measurement->size() != 48) {
      return cloister::InvalidArgumentError("--virtual-measurement must be 96 hex digits");
    }
    config->node.virtual_measurement = *measurement;
  }
  for (auto [text, out] : {std::pair{&flags.node_listen, &config->node.node_listen},
                           std::pair{&flags.client_listen, &config->node.client_listen}}) {
    if (text->empty()) continue;
    ASSIGN_OR_RETURN(*out, node::HostPort::Parse(*text));
  }
  if (mode == Mode::kRecover) {
    if (config->genesis || config->join) {
      return cloister::InvalidArgumentError(
          "recover takes a config without [genesis] or [join] (the old ledgers hold them)");
    }
  } else if (mode == Mode::kStart) {
    if (!config->genesis) return cloister::InvalidArgumentError("start needs a [genesis] section");
    if (!flags.policy.empty()) config->genesis->policy = flags.policy;
    if (!flags.service_cert_out.empty()) {
      config->genesis->service_certificate_out = flags.service_cert_out;
    }
  } else {
    if (!config->join) return cloister::InvalidArgumentError("join needs a [join] section");
    if (!flags.target.empty()) {
      ASSIGN_OR_RETURN(config->join->target, node::HostPort::Parse(flags.target));
    }
    if (!flags.service_cert.empty()) config->join->service_certificate = flags.service_cert;
  }
  return node::ValidateNodeConfig(*config);
}

int Run(const Flags& flags, Mode mode) {
  Result<node::NodeConfig> config = node::LoadNodeConfig(flags.config);
  if (!config.ok()) {
    std::fprintf(stderr, "cloisterd: %s\n", config.error().message.c_str());
    return 2;
  }
  Status overridden = Override(flags, mode, &*config);
  if (!overridden.ok()) {
    std::fprintf(stderr, "cloisterd: %s\n", overridden.error().message.c_str());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(config->node.log_level));
  Result<std::unique_ptr<tee::Attester>> attester = node::MakeAttester(*config);
  if (!attester.ok()) {
    std::fprintf(stderr, "cloisterd: %s\n", attester.error().message.c_str());
    return 2;
  }
  cloister::apps::MessagingApp app;
  boost::asio::io_context io;
  node::NodeOptions options;
  options.config = std::move(config).value();
  options.attester = std::move(attester).value();
  options.app = &app;
  if (mode == Mode::kRecover) {
    node::RecoverSettings recover;
    recover.ledgers.assign(flags.ledgers.begin(), flags.ledgers.end());
    recover.service_certificate_out = flags.service_cert_out;
    options.recover = std::move(recover);
  }
  Result<std::unique_ptr<node::Node>> started = node::Node::Start(io, std::move(options));
  if (!started.ok()) {
    spdlog::error("cloisterd: {}", started.error().message);
    std::fprintf(stderr, "cloisterd: %s\n", started.error().message.c_str());
    return 1;
  }
  std::unique_ptr<node::Node> running = std::move(started).value();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (error) return;
    spdlog::info("cloisterd: signal {}: stopping", signal);
    running->Stop();
    io.stop();
  });
  io.run();
  if (running->failure()) {
    std::fprintf(stderr, "cloisterd: %s\n", running->failure()->message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::set_default_logger(spdlog::stderr_color_mt("cloisterd"));
  CLI::App app{"cloisterd: a node of a Cloister confidential service"};
  app.require_subcommand(1);
  Flags flags;
  CLI::App* start = app.add_subcommand("start", "found a new service (genesis)");
  AddNodeFlags(start, &flags);
  start->add_option("--policy", flags.policy, "admission policy file (JSON or TOML)");
  start->add_option("--service-cert-out", flags.service_cert_out,
                    "where to write the service certificate");
  CLI::App* join = app.add_subcommand("join", "join a running service");
  AddNodeFlags(join, &flags);
  join->add_option("--target", flags.target, "host:port of a node's client API");
  join->add_option("--service-cert", flags.service_cert, "the service certificate to pin");
  CLI::App* recover =
      app.add_subcommand("recover", "start a new service from the ledgers of a lost one");
  AddNodeFlags(recover, &flags);
  recover->add_option("--ledger", flags.ledgers, "a data directory of the lost service (repeat)")
      ->required();
  recover
      ->add_option("--service-cert-out", flags.service_cert_out,
                   "where to write the new service certificate")
      ->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  return Run(flags, start->parsed() ? Mode::kStart : join->parsed() ? Mode::kJoin : Mode::kRecover);
}
