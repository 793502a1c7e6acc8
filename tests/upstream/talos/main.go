// genesis-talos-check: reads Talos machine configurations the way Talos itself reads the
// NoCloud user data it boots with, and reports what genesis relies on.
//
// For each file it
//   - loads the (possibly multi-document) config with the machinery's configloader, as
//     machined does for a config acquired from a platform
//     (internal/app/machined/pkg/controllers/config/acquire.go: configloader.NewFromBytes
//     then cfg.Validate(ctrl.ValidationMode));
//   - validates it in the runtime mode of the nocloud platform: Nocloud.Mode() is
//     runtime.ModeCloud (nocloud.go), which does not require install instructions and is not
//     a container (internal/app/machined/pkg/runtime/mode.go);
//   - requires a control-plane machine (the Platform cluster's VMs are control-plane nodes);
//   - with -node NAME, requires that a hostname the config sets itself (machine.network.hostname
//     or a HostnameConfig document's hostname, the machine-configuration layer that wins over
//     the platform's meta-data hostname) is NAME.
//
// It prints one JSON object per file on stdout and exits 1 if any file fails.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/machine"
	"github.com/siderolabs/talos/pkg/machinery/nethelpers"
)

// cloudMode is the runtime mode Talos validates a nocloud config in (runtime.ModeCloud):
// no install required, not in a container.
type cloudMode struct{}

func (cloudMode) String() string        { return "cloud" }
func (cloudMode) RequiresInstall() bool { return false }
func (cloudMode) InContainer() bool     { return false }

type report struct {
	File        string   `json:"file"`
	OK          bool     `json:"ok"`
	Errors      []string `json:"errors,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	MachineType string   `json:"machine_type,omitempty"`
	Endpoint    string   `json:"endpoint,omitempty"`
	// The hostname the config sets itself ("" when none).
	Hostname string `json:"hostname"`
	// Where Hostname comes from: "machine.network.hostname", "HostnameConfig" or "".
	HostnameSource string `json:"hostname_source"`
	// The automatic hostname kind: "stable", "off" or "addr" (Talos's default).
	AutoHostname string `json:"auto_hostname"`
	// Whether a HostnameConfig document is present (Talos 1.12 and later).
	HostnameConfigDocument bool `json:"hostname_config_document"`
}

func check(path, node string) report {
	r := report{File: path}
	fail := func(format string, args ...any) report {
		r.Errors = append(r.Errors, fmt.Sprintf(format, args...))

		return r
	}

	data, err := os.ReadFile(path)
	if err != nil {
		return fail("read: %v", err)
	}

	cfg, err := configloader.NewFromBytes(data)
	if err != nil {
		return fail("load: %v", err)
	}

	warnings, err := cfg.Validate(cloudMode{})
	r.Warnings = warnings

	if err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("validate (cloud mode): %v", err))
	}

	if cfg.Machine() == nil || cfg.Cluster() == nil {
		return fail("the config has no v1alpha1 machine/cluster document")
	}

	r.MachineType = cfg.Machine().Type().String()
	// Not "init" either: that type bootstraps a new etcd, the VMs join an existing cluster.
	if cfg.Machine().Type() != machine.TypeControlPlane {
		r.Errors = append(r.Errors, fmt.Sprintf("machine type is %q: a Platform control-plane VM needs a controlplane config", r.MachineType))
	}

	if endpoint := cfg.Cluster().Endpoint(); endpoint != nil {
		r.Endpoint = endpoint.String()
	}

	for _, doc := range cfg.Documents() {
		if doc.Kind() == "HostnameConfig" {
			r.HostnameConfigDocument = true
		}
	}

	if hostnameConfig := cfg.NetworkHostnameConfig(); hostnameConfig != nil {
		r.Hostname = hostnameConfig.Hostname()
		r.AutoHostname = autoName(hostnameConfig.AutoHostname())

		if r.Hostname != "" {
			if r.HostnameConfigDocument {
				r.HostnameSource = "HostnameConfig"
			} else {
				r.HostnameSource = "machine.network.hostname"
			}
		}
	}

	if node != "" && r.Hostname != "" && r.Hostname != node {
		r.Errors = append(r.Errors, fmt.Sprintf("the config names the node %q (%s), the VM is %q", r.Hostname, r.HostnameSource, node))
	}

	r.OK = len(r.Errors) == 0

	return r
}

func autoName(kind nethelpers.AutoHostnameKind) string {
	switch kind {
	case nethelpers.AutoHostnameKindStable:
		return "stable"
	case nethelpers.AutoHostnameKindOff:
		return "off"
	case nethelpers.AutoHostnameKindAddr:
		return "addr"
	default:
		return kind.String()
	}
}

func main() {
	node := flag.String("node", "", "the VM name the config must name the node, if it names it")
	flag.Parse()

	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: genesis-talos-check [-node NAME] CONFIG...")
		os.Exit(2)
	}

	failed := false
	encoder := json.NewEncoder(os.Stdout)

	for _, path := range flag.Args() {
		r := check(path, *node)
		if !r.OK {
			failed = true
		}

		if err := encoder.Encode(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}

	if failed {
		os.Exit(1)
	}
}
