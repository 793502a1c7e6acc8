// genesis-upstream-kubevirt decodes what genesis writes to Harvester with the upstream Go
// types, strictly: a field the upstream type does not have, a duplicate field, or a value of
// the wrong type is an error (docs/testworld.md, "Upstream checks").
//
//	genesis-upstream-kubevirt < objects.json
//	genesis-upstream-kubevirt --kubeconfig FILE --namespace NS --get virtualmachines/NAME --get network-attachment-definitions/NAME
//
// Input on stdin: one object, a JSON array of objects, or a List ({"items": [...]}).
// With --kubeconfig the objects are read from that API server as the bytes it serves.
//
// Kinds:
//   - kubevirt.io/v1 VirtualMachine into kubevirt.io/api/core/v1.VirtualMachine.
//   - k8s.cni.cncf.io/v1 NetworkAttachmentDefinition into the network-attachment-definition-client
//     type, then its spec.config through the CNI library (libcni.ConfFromBytes and
//     ConfListFromConf, which checks the cniVersion against the library's supported versions) and
//     strictly into the CNI NetConf together with the bridge fields Harvester's network
//     controller declares for its VLAN networks (harvesterBridgeConf below).
//
// Prints one JSON verdict on stdout; exits 1 when any object is rejected, 2 on a usage or
// read error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
	cnitypes "github.com/containernetworking/cni/pkg/types"
	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	kubevirtv1 "kubevirt.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
)

// harvesterBridgeConf is the shape of the CNI config Harvester's network controller reads and
// writes for a VLAN network: the CNI NetConf plus the bridge plugin's fields it declares, in
// github.com/harvester/harvester-network-controller pkg/utils/nad.go (type NetConf, commit
// b3ad6a1be1d18776a4d492805d04053e2a89bacc). That package cannot be imported here (the module
// proxy serves no version of the module), so the field list is restated; the CNI part is the
// upstream type itself.
type harvesterBridgeConf struct {
	cnitypes.NetConf
	BrName       string `json:"bridge"`
	IsGW         bool   `json:"isGateway"`
	IsDefaultGW  bool   `json:"isDefaultGateway"`
	ForceAddress bool   `json:"forceAddress"`
	IPMasq       bool   `json:"ipMasq"`
	MTU          int    `json:"mtu"`
	HairpinMode  bool   `json:"hairpinMode"`
	PromiscMode  bool   `json:"promiscMode"`
	Vlan         int    `json:"vlan"`
}

// verdict is what is printed for one object.
type verdict struct {
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name,omitempty"`
	OK        bool     `json:"ok"`
	Checks    []string `json:"checks"`
	Error     string   `json:"error,omitempty"`
}

type getList []string

func (g *getList) String() string     { return strings.Join(*g, ",") }
func (g *getList) Set(v string) error { *g = append(*g, v); return nil }

// strict decodes data into out with the Kubernetes strict JSON decoder (case-sensitive field
// names, unknown and duplicate fields reported).
func strict(data []byte, out any) error {
	strictErrs, err := sigsjson.UnmarshalStrict(data, out, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, 0, len(strictErrs))
		for _, e := range strictErrs {
			msgs = append(msgs, e.Error())
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

func checkVM(raw []byte, v *verdict) error {
	var vm kubevirtv1.VirtualMachine
	if err := strict(raw, &vm); err != nil {
		return fmt.Errorf("kubevirt.io/api/core/v1.VirtualMachine: %w", err)
	}
	v.Namespace, v.Name = vm.Namespace, vm.Name
	if vm.APIVersion != kubevirtv1.SchemeGroupVersion.String() {
		return fmt.Errorf("apiVersion %q, kubevirt.io/api serves %q", vm.APIVersion, kubevirtv1.SchemeGroupVersion.String())
	}
	v.Checks = append(v.Checks, "strict decode into kubevirt.io/api/core/v1.VirtualMachine")
	return nil
}

func checkNAD(raw []byte, v *verdict) error {
	var nad nadv1.NetworkAttachmentDefinition
	if err := strict(raw, &nad); err != nil {
		return fmt.Errorf("network-attachment-definition-client v1.NetworkAttachmentDefinition: %w", err)
	}
	v.Namespace, v.Name = nad.Namespace, nad.Name
	if nad.APIVersion != nadv1.SchemeGroupVersion.String() {
		return fmt.Errorf("apiVersion %q, the client serves %q", nad.APIVersion, nadv1.SchemeGroupVersion.String())
	}
	v.Checks = append(v.Checks, "strict decode into network-attachment-definition-client v1.NetworkAttachmentDefinition")
	config := []byte(nad.Spec.Config)
	plugin, err := libcni.ConfFromBytes(config)
	if err != nil {
		return fmt.Errorf("spec.config: libcni: %w", err)
	}
	if _, err := libcni.ConfListFromConf(plugin); err != nil {
		return fmt.Errorf("spec.config: libcni conflist: %w", err)
	}
	v.Checks = append(v.Checks, "spec.config parsed by libcni (ConfFromBytes, ConfListFromConf)")
	var bridge harvesterBridgeConf
	if err := strict(config, &bridge); err != nil {
		return fmt.Errorf("spec.config into CNI NetConf + Harvester's bridge fields: %w", err)
	}
	v.Checks = append(v.Checks, "spec.config strict into CNI types.NetConf + Harvester's bridge fields")
	return nil
}

func check(raw []byte) verdict {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	v := verdict{Checks: []string{}}
	if err := json.Unmarshal(raw, &head); err != nil {
		v.Error = "not a JSON object: " + err.Error()
		return v
	}
	v.Kind = head.Kind
	var err error
	switch head.Kind {
	case "VirtualMachine":
		err = checkVM(raw, &v)
	case "NetworkAttachmentDefinition":
		err = checkNAD(raw, &v)
	default:
		err = fmt.Errorf("kind %q (apiVersion %q) has no upstream check here", head.Kind, head.APIVersion)
	}
	if err != nil {
		v.Error = err.Error()
	} else {
		v.OK = true
	}
	return v
}

// split turns stdin into objects: one object, an array, or a List.
func split(data []byte) ([]json.RawMessage, error) {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "[") {
		var items []json.RawMessage
		err := json.Unmarshal(data, &items)
		return items, err
	}
	var list struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, err
	}
	if list.Items != nil && strings.HasSuffix(list.Kind, "List") {
		return list.Items, nil
	}
	return []json.RawMessage{data}, nil
}

func fetch(kubeconfig, namespace string, gets []string) ([]json.RawMessage, error) {
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	paths := map[string]string{
		"virtualmachines":                "/apis/kubevirt.io/v1",
		"network-attachment-definitions": "/apis/k8s.cni.cncf.io/v1",
	}
	var out []json.RawMessage
	for _, get := range gets {
		resource, name, ok := strings.Cut(get, "/")
		prefix, known := paths[resource]
		if !ok || !known || name == "" {
			return nil, fmt.Errorf("--get %q: want virtualmachines/NAME or network-attachment-definitions/NAME", get)
		}
		path := fmt.Sprintf("%s/namespaces/%s/%s/%s", prefix, namespace, resource, name)
		body, err := client.RESTClient().Get().AbsPath(path).DoRaw(context.Background())
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		out = append(out, body)
	}
	return out, nil
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "read the objects from this cluster (else: stdin)")
	namespace := flag.String("namespace", "default", "namespace of the --get objects")
	var gets getList
	flag.Var(&gets, "get", "RESOURCE/NAME to read (virtualmachines, network-attachment-definitions); repeatable")
	flag.Parse()

	var objects []json.RawMessage
	var err error
	if *kubeconfig != "" {
		objects, err = fetch(*kubeconfig, *namespace, gets)
	} else {
		var data []byte
		data, err = io.ReadAll(os.Stdin)
		if err == nil {
			objects, err = split(data)
		}
	}
	if err == nil && len(objects) == 0 {
		err = errors.New("no objects to check")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genesis-upstream-kubevirt:", err)
		os.Exit(2)
	}
	result := struct {
		OK      bool      `json:"ok"`
		Objects []verdict `json:"objects"`
	}{OK: true}
	for _, raw := range objects {
		v := check(raw)
		result.OK = result.OK && v.OK
		result.Objects = append(result.Objects, v)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		os.Exit(2)
	}
	if !result.OK {
		os.Exit(1)
	}
}
