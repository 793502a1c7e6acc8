// Command genesis-apiserver runs a real kube-apiserver (the upstream
// k8s.io/kubernetes/cmd/kube-apiserver command, not a fake) in front of an
// embedded etcd, for genesis' cluster tests. One process is one cluster.
//
// It generates its own PKI (a CA, a serving certificate for 127.0.0.1 and
// localhost, an admin client certificate with O=system:masters and a
// service-account key), writes an admin kubeconfig with embedded
// certificate-authority-data, client-certificate-data and client-key-data
// (the same shape as RKE2's rke2.yaml), waits for /readyz, installs the CRDs
// found under --crds, waits until they are Established and then prints one
// JSON line on stdout: {"ready":true,"url":...,"kubeconfig":...}.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

type options struct {
	dataDir        string
	port           int
	crdsDir        string
	kubeconfigOut  string
	readyTimeout   time.Duration
	exitOnStdinEOF bool
	verbosity      int
	servingSANs    string
}

type readyLine struct {
	Ready      bool   `json:"ready"`
	URL        string `json:"url"`
	Kubeconfig string `json:"kubeconfig"`
	Port       int    `json:"port"`
	EtcdURL    string `json:"etcd_url"`
	CRDs       int    `json:"crds"`
	StartupMS  int64  `json:"startup_ms"`
	EtcdMS     int64  `json:"etcd_ms"`
	ReadyzMS   int64  `json:"readyz_ms"`
	CRDsMS     int64  `json:"crds_ms"`
	Pid        int    `json:"pid"`
	Version    string `json:"kubernetes_version"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "genesis-apiserver: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags() (options, error) {
	var o options
	fs := flag.NewFlagSet("genesis-apiserver", flag.ContinueOnError)
	fs.StringVar(&o.dataDir, "data-dir", "", "directory for etcd data, PKI and logs (required)")
	fs.IntVar(&o.port, "port", 0, "secure port on 127.0.0.1; 0 picks a free one")
	fs.StringVar(&o.crdsDir, "crds", "", "directory of CRD manifests to install (subdirectories ending in -legacy are skipped)")
	fs.StringVar(&o.kubeconfigOut, "kubeconfig-out", "", "where to write the admin kubeconfig (default DATA_DIR/admin.kubeconfig)")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 120*time.Second, "give up if not ready within this time")
	fs.BoolVar(&o.exitOnStdinEOF, "exit-on-stdin-eof", false, "exit when stdin reaches EOF (the parent died)")
	fs.IntVar(&o.verbosity, "v", 0, "kube-apiserver log verbosity")
	fs.StringVar(&o.servingSANs, "serving-sans-file", "", "a file of extra serving-certificate names, one a line: whenever it changes, the serving certificate is issued again for RKE2's default names plus these, and FILE.served is written once the server presents it")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return o, err
	}
	if o.dataDir == "" {
		return o, errors.New("--data-dir is required")
	}
	abs, err := filepath.Abs(o.dataDir)
	if err != nil {
		return o, err
	}
	o.dataDir = abs
	if o.kubeconfigOut == "" {
		o.kubeconfigOut = filepath.Join(o.dataDir, "admin.kubeconfig")
	}
	return o, nil
}

func run() error {
	started := time.Now()
	o, err := parseFlags()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return err
	}
	if o.port == 0 {
		if o.port, err = freePort(); err != nil {
			return err
		}
	}

	etcdServer, etcdURL, err := startEtcd(filepath.Join(o.dataDir, "etcd"))
	if err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	defer etcdServer.Close()
	etcdDone := time.Now()

	pki, err := writePKI(filepath.Join(o.dataDir, "pki"))
	if err != nil {
		return fmt.Errorf("generate pki: %w", err)
	}
	serverURL := "https://127.0.0.1:" + strconv.Itoa(o.port)
	if err := writeKubeconfig(o.kubeconfigOut, serverURL, pki); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}

	apiDone := make(chan error, 1)
	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(apiserverArgs(o, etcdURL, pki))
	go func() { apiDone <- cmd.Execute() }()

	if o.exitOnStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			fmt.Fprintln(os.Stderr, "genesis-apiserver: stdin closed, exiting")
			etcdServer.Close()
			os.Exit(0)
		}()
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.readyTimeout)
	defer cancel()
	restConfig, err := clientcmd.BuildConfigFromFlags("", o.kubeconfigOut)
	if err != nil {
		return err
	}
	restConfig.QPS = 200
	restConfig.Burst = 400
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, client, apiDone); err != nil {
		return err
	}
	readyzDone := time.Now()
	crds := 0
	if o.crdsDir != "" {
		if crds, err = installCRDs(ctx, restConfig, o.crdsDir); err != nil {
			return fmt.Errorf("install crds from %s: %w", o.crdsDir, err)
		}
	}
	version, err := client.Discovery().ServerVersion()
	if err != nil {
		return err
	}
	line, err := json.Marshal(readyLine{
		Ready:      true,
		URL:        serverURL,
		Kubeconfig: o.kubeconfigOut,
		Port:       o.port,
		EtcdURL:    etcdURL,
		CRDs:       crds,
		StartupMS:  time.Since(started).Milliseconds(),
		EtcdMS:     etcdDone.Sub(started).Milliseconds(),
		ReadyzMS:   readyzDone.Sub(etcdDone).Milliseconds(),
		CRDsMS:     time.Since(readyzDone).Milliseconds(),
		Pid:        os.Getpid(),
		Version:    version.GitVersion,
	})
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	if o.servingSANs != "" {
		go watchServingSANs(o.servingSANs, filepath.Join(o.dataDir, "pki"), o.port)
	}

	// The kube-apiserver command owns SIGTERM/SIGINT: it shuts down and returns.
	err = <-apiDone
	etcdServer.Close()
	return err
}

func apiserverArgs(o options, etcdURL string, pki pkiPaths) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(o.port),
		"--cert-dir=" + filepath.Join(o.dataDir, "pki"),
		"--tls-cert-file=" + pki.servingCert,
		"--tls-private-key-file=" + pki.servingKey,
		"--client-ca-file=" + pki.caCert,
		"--service-account-key-file=" + pki.serviceAccountKey,
		"--service-account-signing-key-file=" + pki.serviceAccountKey,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--api-audiences=https://kubernetes.default.svc",
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.43.0.0/16",
		"--allow-privileged=true",
		// A single apiserver with no kube-controller-manager: nothing to reconcile.
		"--endpoint-reconciler-type=none",
		// Start-up speed: API priority and fairness builds its config at start.
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--watch-cache=true",
		"--event-ttl=10m",
		"-v=" + strconv.Itoa(o.verbosity),
	}
}

// etcdPorts returns the client and peer ports: the ones of the previous
// start on this data dir (a restart keeps etcd's advertised URLs), else free ones.
func etcdPorts(dir string) (int, int, error) {
	record := filepath.Join(filepath.Dir(dir), "etcd-ports")
	if data, err := os.ReadFile(record); err == nil {
		var client, peer int
		if _, err := fmt.Sscanf(string(data), "%d %d", &client, &peer); err == nil {
			return client, peer, nil
		}
	}
	client, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	peer, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	return client, peer, os.WriteFile(record, []byte(fmt.Sprintf("%d %d\n", client, peer)), 0o600)
}

func startEtcd(dir string) (*embed.Etcd, string, error) {
	clientPort, peerPort, err := etcdPorts(dir)
	if err != nil {
		return nil, "", err
	}
	clientURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(clientPort)}
	peerURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(peerPort)}
	cfg := embed.NewConfig()
	cfg.Name = "genesis"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	// Test data: durability across power loss is not needed, speed is.
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", errors.New("etcd not ready within 60s")
	}
	return e, clientURL.String(), nil
}

func waitReady(ctx context.Context, client *kubernetes.Clientset, apiDone <-chan error) error {
	for {
		select {
		case err := <-apiDone:
			return fmt.Errorf("kube-apiserver exited before ready: %v", err)
		default:
		}
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && string(body) == "ok" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready: %w (last: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// watchServingSANs re-issues the serving certificate whenever the SAN file's content changes
// (the simulator writes it when it plays the Harvester installer on the first node), waits
// until kube-apiserver presents the new certificate (it reloads --tls-cert-file and
// --tls-private-key-file when they change) and then writes FILE.served with the content it
// acted on. A test-world helper: it polls a local file, not the API.
func watchServingSANs(path, pkiDir string, port int) {
	var last string
	for {
		time.Sleep(100 * time.Millisecond)
		data, err := os.ReadFile(path)
		if err != nil || string(data) == last {
			continue
		}
		last = string(data)
		var extra []string
		for _, line := range strings.Split(last, "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				extra = append(extra, line)
			}
		}
		issued, err := reissueServing(pkiDir, extra)
		if err != nil {
			fmt.Fprintf(os.Stderr, "genesis-apiserver: re-issue the serving certificate: %v\n", err)
			continue
		}
		if err := waitServed(port, issued, 60*time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "genesis-apiserver: %v\n", err)
			continue
		}
		if err := os.WriteFile(path+".served", data, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "genesis-apiserver: write %s.served: %v\n", path, err)
		}
	}
}

// waitServed returns once a TLS handshake with the server on port presents certificate der.
func waitServed(port int, der []byte, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	address := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for time.Now().Before(deadline) {
		// Only the presented certificate is compared, byte for byte; trust is not the question.
		conn, err := tls.Dial("tcp", address, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec
		if err == nil {
			certs := conn.ConnectionState().PeerCertificates
			_ = conn.Close()
			if len(certs) > 0 && bytes.Equal(certs[0].Raw, der) {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver did not present the re-issued serving certificate within %v", limit)
}
