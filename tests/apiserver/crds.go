package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

const kubevirtSchemaSuffix = ".openAPIV3Schema.yaml"

// loadCRDs reads every *.yaml under dir (one level of subdirectories),
// skipping subdirectories whose name ends in "-legacy" (they duplicate the
// current CRDs' names). Files named KIND.openAPIV3Schema.yaml are bare
// schemas as KubeVirt ships them; they are wrapped into full CRDs.
func loadCRDs(dir string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasSuffix(d.Name(), "-legacy") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".yaml") || strings.HasSuffix(d.Name(), ".yml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(f, kubevirtSchemaSuffix) {
			crd, err := wrapKubevirtSchema(strings.TrimSuffix(filepath.Base(f), kubevirtSchemaSuffix), data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			crds = append(crds, crd)
			continue
		}
		decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := decoder.Decode(&crd); err != nil {
				if err == io.EOF {
					break
				}
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if crd.Kind == "" {
				continue
			}
			if crd.Kind != "CustomResourceDefinition" {
				return nil, fmt.Errorf("%s: kind %q is not a CustomResourceDefinition", f, crd.Kind)
			}
			crds = append(crds, &crd)
		}
	}
	return crds, nil
}

// wrapKubevirtSchema builds the CRD that virt-operator would create
// (kubevirt pkg/virt-operator/resource/generate/components/crds.go):
// group kubevirt.io, version v1, namespaced. VirtualMachine has the status
// subresource; VirtualMachineInstance has none upstream (virt-handler
// updates the whole object), so neither does ours.
func wrapKubevirtSchema(name string, data []byte) (*apiextensionsv1.CustomResourceDefinition, error) {
	var doc struct {
		OpenAPIV3Schema *apiextensionsv1.JSONSchemaProps `json:"openAPIV3Schema"`
	}
	if err := yaml.UnmarshalStrict(data, &doc); err != nil {
		return nil, err
	}
	if doc.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("no openAPIV3Schema document")
	}
	version := apiextensionsv1.CustomResourceDefinitionVersion{
		Name:    "v1",
		Served:  true,
		Storage: true,
		Schema:  &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: doc.OpenAPIV3Schema},
	}
	var names apiextensionsv1.CustomResourceDefinitionNames
	switch name {
	case "virtualmachine":
		names = apiextensionsv1.CustomResourceDefinitionNames{
			Plural: "virtualmachines", Singular: "virtualmachine", Kind: "VirtualMachine",
			ListKind: "VirtualMachineList", ShortNames: []string{"vm", "vms"}, Categories: []string{"all"},
		}
		version.Subresources = &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}}
		version.AdditionalPrinterColumns = []apiextensionsv1.CustomResourceColumnDefinition{
			{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
			{Name: "Status", Type: "string", JSONPath: ".status.printableStatus"},
			{Name: "Ready", Type: "string", JSONPath: ".status.conditions[?(@.type=='Ready')].status"},
		}
	case "virtualmachineinstance":
		names = apiextensionsv1.CustomResourceDefinitionNames{
			Plural: "virtualmachineinstances", Singular: "virtualmachineinstance", Kind: "VirtualMachineInstance",
			ListKind: "VirtualMachineInstanceList", ShortNames: []string{"vmi", "vmis"}, Categories: []string{"all"},
		}
		version.AdditionalPrinterColumns = []apiextensionsv1.CustomResourceColumnDefinition{
			{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
			{Name: "Phase", Type: "string", JSONPath: ".status.phase"},
			{Name: "IP", Type: "string", JSONPath: ".status.interfaces[0].ipAddress"},
			{Name: "NodeName", Type: "string", JSONPath: ".status.nodeName"},
			{Name: "Ready", Type: "string", JSONPath: ".status.conditions[?(@.type=='Ready')].status"},
		}
	default:
		return nil, fmt.Errorf("unknown KubeVirt schema %q", name)
	}
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: names.Plural + ".kubevirt.io", Labels: map[string]string{"kubevirt.io": ""}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group:    "kubevirt.io",
			Names:    names,
			Scope:    apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{version},
		},
	}, nil
}

func installCRDs(ctx context.Context, config *rest.Config, dir string) (int, error) {
	crds, err := loadCRDs(dir)
	if err != nil {
		return 0, err
	}
	if len(crds) == 0 {
		return 0, fmt.Errorf("no CRDs found")
	}
	client, err := apiextensionsclient.NewForConfig(config)
	if err != nil {
		return 0, err
	}
	// Concurrently: the server spends its time building each CRD's
	// OpenAPI and validation models, and there are two cores.
	api := client.ApiextensionsV1().CustomResourceDefinitions()
	errs := make(chan error, len(crds))
	var wg sync.WaitGroup
	for _, crd := range crds {
		wg.Add(1)
		go func(crd *apiextensionsv1.CustomResourceDefinition) {
			defer wg.Done()
			_, err := api.Create(ctx, crd, metav1.CreateOptions{FieldValidation: "Strict"})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				errs <- fmt.Errorf("create %s: %w", crd.Name, err)
				return
			}
			if err := waitEstablished(ctx, client, crd.Name); err != nil {
				errs <- err
			}
		}(crd)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return len(crds), nil
}

func waitEstablished(ctx context.Context, client *apiextensionsclient.Clientset, name string) error {
	for {
		crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextensionsv1.NamesAccepted && c.Status == apiextensionsv1.ConditionFalse {
					return fmt.Errorf("crd %s names not accepted: %s", name, c.Message)
				}
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("crd %s not established: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
