// genesis-upstream-argocd reads a declarative Argo CD cluster Secret the way Argo CD v3.2.9
// does and talks to the cluster it names with the REST config Argo CD builds from it
// (docs/testworld.md, "Upstream checks"). Nothing of Argo CD is restated here: the Secret goes
// through Argo CD's own packages.
//
//		genesis-upstream-argocd --kubeconfig PLATFORM --namespace argocd --name cluster-harvester \
//		    [--resolve HOST:PORT=127.0.0.1:PORT] [--require-label KEY=VALUE ...]
//
//	 1. reads the Secret from the cluster of --kubeconfig;
//	 2. finds it the way Argo CD's application controller and API server do: a SettingsManager
//	    (util/settings) whose Secret informer indexes cluster Secrets by server URL, and
//	    db.GetCluster (util/db), which only sees Secrets labelled
//	    argocd.argoproj.io/secret-type=cluster;
//	 3. converts it with db.SecretToCluster (util/db) and builds the REST config with
//	    Cluster.RESTConfig (pkg/apis/application/v1alpha1);
//	 4. asks the cluster for its version with gitops-engine's KubectlCmd.GetServerVersion (what
//	    Argo CD's cluster API calls to test a connection) and lists ConfigMaps in kube-system and
//	    the Nodes, which anonymous users may not.
//
// --resolve sends connections for HOST:PORT to another address without changing the URL, so
// TLS still verifies the Secret's own server name (like curl --resolve). Argo CD's RESTConfig
// installs its own transport and dialer, so the override goes through the REST config's proxy
// setting, which Argo CD honours (it is what a Secret's proxyUrl sets): an in-process CONNECT
// proxy that dials the mapped address. The TLS session is end to end through it. RESTConfig
// is then exactly Argo CD's two steps, RawRestConfig and SetK8SConfigDefaults.
//
// --require-label KEY=VALUE checks the Cluster Argo CD made has that label (what an
// ApplicationSet cluster generator selects on).
//
// Prints one JSON verdict on stdout; exits 1 with Argo CD's error when any step fails.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/argoproj/argo-cd/v3/common"
	appv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/db"
	"github.com/argoproj/argo-cd/v3/util/settings"
	"github.com/argoproj/gitops-engine/pkg/utils/kube"
	"github.com/argoproj/gitops-engine/pkg/utils/tracing"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

type verdict struct {
	OK            bool              `json:"ok"`
	Stage         string            `json:"stage,omitempty"`
	Error         string            `json:"error,omitempty"`
	ArgoCD        string            `json:"argocd"`
	Secret        string            `json:"secret"`
	Server        string            `json:"server,omitempty"`
	Name          string            `json:"name,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	FoundByServer bool              `json:"found_by_server"`
	ServerVersion string            `json:"server_version,omitempty"`
	ConfigMaps    int               `json:"kube_system_configmaps"`
	Nodes         int               `json:"nodes"`
	Resolved      string            `json:"resolved,omitempty"`
	Checks        []string          `json:"checks"`
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// connectProxy serves HTTP CONNECT for the hosts in resolve only, dialling the mapped address.
func connectProxy(resolve map[string]string) (*url.URL, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		target, ok := resolve[r.Host]
		mu.Unlock()
		if r.Method != http.MethodConnect || !ok {
			http.Error(w, "no --resolve entry for "+r.Host, http.StatusBadGateway)
			return
		}
		upstream, err := net.DialTimeout("tcp", target, 10*time.Second)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		hijacker, ok := w.(http.Hijacker)
		if !ok {
			upstream.Close()
			http.Error(w, "cannot hijack", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
		client, buffered, err := hijacker.Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		if n := buffered.Reader.Buffered(); n > 0 {
			pending, _ := buffered.Reader.Peek(n)
			_, _ = upstream.Write(pending)
		}
		go func() { _, _ = io.Copy(upstream, client); upstream.Close() }()
		go func() { _, _ = io.Copy(client, upstream); client.Close() }()
	})
	go func() { _ = http.Serve(listener, handler) }()
	return &url.URL{Scheme: "http", Host: listener.Addr().String()}, nil
}

func run(v *verdict, kubeconfig, namespace, name string, resolve map[string]string, required map[string]string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	platformConfig, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return "platform kubeconfig", err
	}
	platform, err := kubernetes.NewForConfig(platformConfig)
	if err != nil {
		return "platform kubeconfig", err
	}
	secret, err := platform.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "read Secret", err
	}
	v.Labels = secret.Labels
	if got := secret.Labels[common.LabelKeySecretType]; got != common.LabelValueSecretTypeCluster {
		return "labels", fmt.Errorf("label %s is %q, Argo CD reads cluster Secrets labelled %s=%s only",
			common.LabelKeySecretType, got, common.LabelKeySecretType, common.LabelValueSecretTypeCluster)
	}
	v.Checks = append(v.Checks, fmt.Sprintf("label %s=%s (common.LabelKeySecretType)", common.LabelKeySecretType, common.LabelValueSecretTypeCluster))

	cluster, err := db.SecretToCluster(secret)
	if err != nil {
		return "db.SecretToCluster", err
	}
	v.Server, v.Name = cluster.Server, cluster.Name
	v.Checks = append(v.Checks, "db.SecretToCluster")
	for key, want := range required {
		if got, ok := cluster.Labels[key]; !ok || got != want {
			return "labels", fmt.Errorf("the Cluster Argo CD made from Secret %s/%s has label %s=%q, want %q", namespace, name, key, got, want)
		}
		v.Checks = append(v.Checks, fmt.Sprintf("Cluster label %s=%s", key, want))
	}

	// Argo CD's own lookup: the settings manager's Secret informer and its by-server index.
	manager := settings.NewSettingsManager(ctx, platform, namespace)
	found, err := db.NewDB(namespace, manager, platform).GetCluster(ctx, cluster.Server)
	if err != nil {
		return "db.GetCluster", err
	}
	if found.ID != string(secret.UID) {
		return "db.GetCluster", fmt.Errorf("Argo CD's index maps server %s to another Secret (uid %s, this one is %s)", cluster.Server, found.ID, secret.UID)
	}
	v.FoundByServer = true
	v.Checks = append(v.Checks, "db.GetCluster by server URL (settings manager informer, byClusterURL index)")

	var config *rest.Config
	if len(resolve) == 0 {
		config, err = cluster.RESTConfig()
		if err != nil {
			return "Cluster.RESTConfig", err
		}
		v.Checks = append(v.Checks, "Cluster.RESTConfig")
	} else {
		if cluster.Config.ProxyUrl != "" {
			return "resolve", errors.New("--resolve uses the REST config's proxy, and the Secret sets proxyUrl itself")
		}
		config, err = cluster.RawRestConfig()
		if err != nil {
			return "Cluster.RawRestConfig", err
		}
		proxy, err := connectProxy(resolve)
		if err != nil {
			return "resolve", err
		}
		config.Proxy = http.ProxyURL(proxy)
		if err := appv1.SetK8SConfigDefaults(config); err != nil {
			return "SetK8SConfigDefaults", err
		}
		parsed, _ := url.Parse(cluster.Server)
		if parsed != nil {
			v.Resolved = parsed.Host + " -> " + resolve[parsed.Host]
		}
		v.Checks = append(v.Checks, "Cluster.RawRestConfig + SetK8SConfigDefaults (Cluster.RESTConfig's two steps; --resolve through the REST config's proxy)")
	}

	kubectl := &kube.KubectlCmd{Tracer: tracing.NopTracer{}}
	v.ServerVersion, err = kubectl.GetServerVersion(config)
	if err != nil {
		return "GetServerVersion", err
	}
	v.Checks = append(v.Checks, "gitops-engine KubectlCmd.GetServerVersion")
	target, err := kubernetes.NewForConfig(config)
	if err != nil {
		return "client", err
	}
	configMaps, err := target.CoreV1().ConfigMaps("kube-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		return "list kube-system ConfigMaps", err
	}
	v.ConfigMaps = len(configMaps.Items)
	nodes, err := target.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "list Nodes", err
	}
	v.Nodes = len(nodes.Items)
	v.Checks = append(v.Checks, "list kube-system ConfigMaps and Nodes with the REST config")
	return "", nil
}

func parsePairs(values []string, sep, what string) (map[string]string, error) {
	out := map[string]string{}
	for _, value := range values {
		key, target, ok := strings.Cut(value, sep)
		if !ok || key == "" || target == "" {
			return nil, fmt.Errorf("%s %q: want KEY%sVALUE", what, value, sep)
		}
		out[key] = target
	}
	return out, nil
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster Argo CD runs on (holds the Secret)")
	namespace := flag.String("namespace", "argocd", "Argo CD's namespace")
	name := flag.String("name", "", "the cluster Secret's name")
	var resolves, labels multi
	flag.Var(&resolves, "resolve", "HOST:PORT=ADDR:PORT, connect there for HOST:PORT (repeatable)")
	flag.Var(&labels, "require-label", "KEY=VALUE the Cluster must carry (repeatable)")
	flag.Parse()
	resolve, err := parsePairs(resolves, "=", "--resolve")
	if err == nil {
		var required map[string]string
		required, err = parsePairs(labels, "=", "--require-label")
		if err == nil && (*kubeconfig == "" || *name == "") {
			err = errors.New("--kubeconfig and --name are required")
		}
		if err == nil {
			v := verdict{ArgoCD: "github.com/argoproj/argo-cd/v3 v3.2.9", Secret: *namespace + "/" + *name, Checks: []string{}}
			stage, runErr := run(&v, *kubeconfig, *namespace, *name, resolve, required)
			if runErr != nil {
				v.Stage, v.Error = stage, runErr.Error()
			} else {
				v.OK = true
			}
			_ = json.NewEncoder(os.Stdout).Encode(v)
			if !v.OK {
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintln(os.Stderr, "genesis-upstream-argocd:", err)
	os.Exit(2)
}
