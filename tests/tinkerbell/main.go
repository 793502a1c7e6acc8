// genesis-tinkerbell runs the real upstream Tinkerbell workflow controller
// (github.com/tinkerbell/tinkerbell/tink/controller), the real upstream tink
// server's gRPC WorkflowService (github.com/tinkerbell/tinkerbell/tink/server)
// and the real upstream Rufio controllers (github.com/tinkerbell/tinkerbell/rufio:
// Machine, Job, Task) in one process against one kube-apiserver, for genesis'
// test world (docs/testworld.md). Nothing here re-implements a controller or
// the server: this file only loads a kubeconfig and calls the packages'
// exported Config.Start, the way the upstream cmd/tinkerbell main does for its
// "tink-controller", "tink-server" and "rufio" services.
//
//	genesis-tinkerbell --kubeconfig FILE [--namespace NS]
//	    [--bmc-connect-timeout 10s] [--power-check-interval 30m]
//	    [--tink-server-bind 127.0.0.1:0] [--exit-on-stdin-eof]
//
// Prints one JSON line {"ready":true,...} on stdout once both managers are
// started and the tink server accepts connections; logs go to stderr as JSON
// lines.
//
//	genesis-tinkerbell agent --server ADDR --worker-id ID [--mac MAC]
//
// is the machine side instead: a client of the tink server's WorkflowService
// (agent.go), driven through stdin and stdout by genesis' lab simulator.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/tinkerbell/tinkerbell/pkg/backend/kube"
	"github.com/tinkerbell/tinkerbell/rufio"
	tinkcontroller "github.com/tinkerbell/tinkerbell/tink/controller"
	tinkserver "github.com/tinkerbell/tinkerbell/tink/server"
	"golang.org/x/sync/errgroup"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Version of the upstream module; keep in step with go.mod.
const tinkerbellVersion = "v0.25.0"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		if err := runAgent(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "genesis-tinkerbell agent: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "genesis-tinkerbell: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	// A flag set of our own: controller-runtime registers its own --kubeconfig on the
	// global one (sigs.k8s.io/controller-runtime/pkg/client/config).
	flags := flag.NewFlagSet("genesis-tinkerbell", flag.ExitOnError)
	kubeconfig := flags.String("kubeconfig", "", "kubeconfig of the cluster the controllers watch (required)")
	namespace := flags.String("namespace", "", "watch only this namespace (default: all)")
	bmcTimeout := flags.Duration("bmc-connect-timeout", 10*time.Second, "Rufio: timeout to connect to a BMC")
	powerCheck := flags.Duration("power-check-interval", 30*time.Minute, "Rufio: how often a Machine's power state is re-read")
	tinkServerBind := flags.String("tink-server-bind", "127.0.0.1:0", "address the tink server's gRPC listens on (port 0: a free port, chosen here)")
	exitOnEOF := flags.Bool("exit-on-stdin-eof", false, "exit when stdin closes (the test harness holds it open)")
	if err := flags.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *kubeconfig == "" {
		return fmt.Errorf("--kubeconfig is required")
	}

	log := funcr.NewJSON(func(obj string) { fmt.Fprintln(os.Stderr, obj) }, funcr.Options{Verbosity: 1})
	ctrl.SetLogger(log)

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	if *exitOnEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
	}

	started := time.Now()
	restConfig, err := kube.NewFileRestConfig(*kubeconfig, *namespace)
	if err != nil {
		return fmt.Errorf("loading kubeconfig %s: %w", *kubeconfig, err)
	}
	restConfig.QPS = 100
	restConfig.Burst = 100

	bind, err := bindAddrPort(*tinkServerBind)
	if err != nil {
		return err
	}

	// One upstream kube backend (pkg/backend/kube), as cmd/tinkerbell wires it
	// (cmd/tinkerbell/cmd.go: newKubeBackend with enabledIndexes): the tink
	// controller reads references through its dynamic client; the tink server
	// reads and writes Workflows and Hardware through its cache, which needs the
	// indexes cmd/tinkerbell/flag/tink_server.go registers for it
	// (KubeIndexesTinkServer: Workflow .status.agentID, Hardware .spec.agentID).
	backend, err := kube.NewBackend(kube.Backend{
		ClientConfig: restConfig,
		Namespace:    *namespace,
		QPS:          100,
		Burst:        100,
		Indexes: map[kube.IndexType]kube.Index{
			kube.IndexTypeWorkflowAgentID: kube.Indexes[kube.IndexTypeWorkflowAgentID],
			kube.IndexTypeHardwareAgentID: kube.Indexes[kube.IndexTypeHardwareAgentID],
		},
	})
	if err != nil {
		return fmt.Errorf("kube backend: %w", err)
	}

	group, gctx := errgroup.WithContext(ctx)
	group.Go(func() error { return named("kube backend", backend.Start(gctx)) })
	group.Go(func() error {
		cfg := tinkcontroller.NewConfig(
			tinkcontroller.WithClient(restConfig),
			tinkcontroller.WithNamespace(*namespace),
			tinkcontroller.WithDynamicClient(backend),
			tinkcontroller.WithEnableLeaderElection(false),
		)
		return named("tink controller", cfg.Start(gctx, log.WithName("tink-controller")))
	})
	group.Go(func() error {
		cfg := rufio.NewConfig(
			rufio.WithClient(restConfig),
			rufio.WithNamespace(*namespace),
			rufio.WithEnableLeaderElection(false),
			rufio.WithBmcConnectTimeout(*bmcTimeout),
			rufio.WithPowerCheckInterval(*powerCheck),
		)
		return named("rufio", cfg.Start(gctx, log.WithName("rufio")))
	})

	group.Go(func() error {
		// cmd/tinkerbell: ts.Config.SetBackends(b), BindAddrPort from its flags,
		// no TLS unless a certificate is given (tink/server/server.go adds
		// grpc.Creds only when Config.TLS.Cert is set): plaintext gRPC here.
		// Auto discovery and auto enrollment stay off (their defaults).
		cfg := tinkserver.NewConfig(tinkserver.WithBindAddrPort(bind))
		cfg.SetBackends(backend)
		return named("tink server", cfg.Start(gctx, log.WithName("tink-server")))
	})
	if err := awaitListening(gctx, bind.String(), 30*time.Second); err != nil {
		return fmt.Errorf("tink server: %w", err)
	}

	ready, _ := json.Marshal(map[string]any{
		"ready":              true,
		"tinkerbell_version": tinkerbellVersion,
		"controllers":        []string{"tink-controller/workflow", "rufio/machine", "rufio/job", "rufio/task"},
		"tink_server":        bind.String(),
		"startup_ms":         time.Since(started).Milliseconds(),
	})
	fmt.Println(string(ready))

	err = group.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func named(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// bindAddrPort resolves the tink server's listen address. tink/server's Start
// listens on the address it is given and does not report the port it got, so
// port 0 is resolved here: a free loopback port is taken and released, then
// handed to the server.
func bindAddrPort(value string) (netip.AddrPort, error) {
	addrPort, err := netip.ParseAddrPort(value)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("--tink-server-bind %q: %w", value, err)
	}
	if addrPort.Port() != 0 {
		return addrPort, nil
	}
	listener, err := net.Listen("tcp", addrPort.String())
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("finding a free port on %s: %w", addrPort.Addr(), err)
	}
	defer listener.Close()
	return netip.MustParseAddrPort(listener.Addr().String()), nil
}

// awaitListening waits until something accepts TCP connections on address.
func awaitListening(ctx context.Context, address string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", address)
		if err == nil {
			return conn.Close()
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s: %w", address, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
