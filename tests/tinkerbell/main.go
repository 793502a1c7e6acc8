// genesis-tinkerbell runs the real upstream Tinkerbell workflow controller
// (github.com/tinkerbell/tinkerbell/tink/controller) and the real upstream
// Rufio controllers (github.com/tinkerbell/tinkerbell/rufio: Machine, Job,
// Task) in one process against one kube-apiserver, for genesis' test world
// (docs/testworld.md). Nothing here re-implements a controller: this file only
// loads a kubeconfig and calls the packages' exported Config.Start, the way
// the upstream cmd/tinkerbell main does for its "tink-controller" and "rufio"
// services.
//
//	genesis-tinkerbell --kubeconfig FILE [--namespace NS]
//	    [--bmc-connect-timeout 10s] [--power-check-interval 30m] [--exit-on-stdin-eof]
//
// Prints one JSON line {"ready":true,...} on stdout once both managers are
// started; logs go to stderr as JSON lines.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/tinkerbell/tinkerbell/pkg/backend/kube"
	"github.com/tinkerbell/tinkerbell/rufio"
	tinkcontroller "github.com/tinkerbell/tinkerbell/tink/controller"
	"golang.org/x/sync/errgroup"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Version of the upstream module; keep in step with go.mod.
const tinkerbellVersion = "v0.25.0"

func main() {
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

	// The tink controller reads references (Workflow spec.hardwareRef's
	// references) through the upstream kube backend's dynamic client, as
	// cmd/tinkerbell wires it.
	backend, err := kube.NewBackend(kube.Backend{ClientConfig: restConfig, Namespace: *namespace, QPS: 100, Burst: 100})
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

	ready, _ := json.Marshal(map[string]any{
		"ready":              true,
		"tinkerbell_version": tinkerbellVersion,
		"controllers":        []string{"tink-controller/workflow", "rufio/machine", "rufio/job", "rufio/task"},
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
