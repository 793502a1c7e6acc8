package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

type pkiPaths struct {
	caCert, caKey                string
	servingCert, servingKey      string
	adminCert, adminKey          string
	serviceAccountKey            string
	caPEM, adminPEM, adminKeyPEM []byte
}

type keyPair struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

func newKeyPair(template *x509.Certificate, parent *keyPair) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	template.SerialNumber = serial
	template.NotBefore = time.Now().Add(-time.Hour)
	template.NotAfter = time.Now().Add(10 * 365 * 24 * time.Hour)
	signerCert, signerKey := template, key
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, template, signerCert, &key.PublicKey, signerKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

func (k *keyPair) write(dir, name string) (string, string, error) {
	certPath := filepath.Join(dir, name+".crt")
	keyPath := filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, k.certPEM, 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, k.keyPEM, 0o600); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// writePKI makes a fresh CA, a serving certificate for 127.0.0.1/localhost,
// an admin client certificate (CN=genesis-admin, O=system:masters) and a
// service-account signing key.
func writePKI(dir string) (pkiPaths, error) {
	var p pkiPaths
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return p, err
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.crt")); err == nil {
		// A restart on the same data dir keeps its identity: clients and
		// kubeconfigs made before the restart stay valid.
		return loadPKI(dir)
	}
	ca, err := newKeyPair(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "genesis-test-ca"},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil)
	if err != nil {
		return p, err
	}
	serving, err := newKeyPair(servingTemplate(nil), ca)
	if err != nil {
		return p, err
	}
	admin, err := newKeyPair(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "genesis-admin", Organization: []string{"system:masters"}},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca)
	if err != nil {
		return p, err
	}
	sa, err := newKeyPair(&x509.Certificate{Subject: pkix.Name{CommonName: "service-accounts"}}, ca)
	if err != nil {
		return p, err
	}
	if p.caCert, p.caKey, err = ca.write(dir, "ca"); err != nil {
		return p, err
	}
	if p.servingCert, p.servingKey, err = serving.write(dir, "serving"); err != nil {
		return p, err
	}
	if p.adminCert, p.adminKey, err = admin.write(dir, "admin"); err != nil {
		return p, err
	}
	if _, p.serviceAccountKey, err = sa.write(dir, "service-account"); err != nil {
		return p, err
	}
	p.caPEM, p.adminPEM, p.adminKeyPEM = ca.certPEM, admin.certPEM, admin.keyPEM
	return p, nil
}

func loadPKI(dir string) (pkiPaths, error) {
	p := pkiPaths{
		caCert: filepath.Join(dir, "ca.crt"), caKey: filepath.Join(dir, "ca.key"),
		servingCert: filepath.Join(dir, "serving.crt"), servingKey: filepath.Join(dir, "serving.key"),
		adminCert: filepath.Join(dir, "admin.crt"), adminKey: filepath.Join(dir, "admin.key"),
		serviceAccountKey: filepath.Join(dir, "service-account.key"),
	}
	var err error
	if p.caPEM, err = os.ReadFile(p.caCert); err != nil {
		return p, err
	}
	if p.adminPEM, err = os.ReadFile(p.adminCert); err != nil {
		return p, err
	}
	if p.adminKeyPEM, err = os.ReadFile(p.adminKey); err != nil {
		return p, err
	}
	return p, nil
}

// writeKubeconfig writes an RKE2-style kubeconfig: cluster, user and context
// all named "default", credentials embedded as data.
func writeKubeconfig(path, serverURL string, p pkiPaths) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["default"] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthorityData: p.caPEM}
	cfg.AuthInfos["default"] = &clientcmdapi.AuthInfo{ClientCertificateData: p.adminPEM, ClientKeyData: p.adminKeyPEM}
	cfg.Contexts["default"] = &clientcmdapi.Context{Cluster: "default", AuthInfo: "default"}
	cfg.CurrentContext = "default"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*cfg, path)
}

// rke2DefaultSANs are the names RKE2 (k3s underneath) puts on the kube-apiserver serving
// certificate of a server node whatever its config says: the in-cluster names and localhost
// with the first address of the service range (k3s-io/k3s pkg/daemons/control/deps/deps.go
// genServerCerts) and the loopback addresses (pkg/cli/server/server.go). The node's own
// name and addresses and the `tls-san` values come on top; the caller passes them as extra.
var rke2DefaultSANs = []string{
	"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
	"kubernetes.default.svc.cluster.local", "127.0.0.1", "::1",
	// The first address of --service-cluster-ip-range (10.43.0.0/16 here, RKE2's default).
	"10.43.0.1",
}

// servingTemplate is the serving certificate's template: RKE2's default names plus extra
// (DNS names or IP addresses, as RKE2's addSANs sorts them).
func servingTemplate(extra []string) *x509.Certificate {
	template := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	seen := map[string]bool{}
	for _, san := range append(append([]string{}, rke2DefaultSANs...), extra...) {
		san = strings.TrimSpace(san)
		if san == "" || seen[san] {
			continue
		}
		seen[san] = true
		if ip := net.ParseIP(san); ip != nil {
			template.IPAddresses = append(template.IPAddresses, ip)
		} else {
			template.DNSNames = append(template.DNSNames, san)
		}
	}
	return template
}

// loadCA reads the CA that writePKI made in dir.
func loadCA(dir string) (*keyPair, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, err
	}
	certBlock, _ := pem.Decode(certPEM)
	keyBlock, _ := pem.Decode(keyPEM)
	if certBlock == nil || keyBlock == nil {
		return nil, errors.New("ca.crt or ca.key is not PEM")
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParseECPrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key, certPEM: certPEM, keyPEM: keyPEM}, nil
}

// reissueServing writes a new serving certificate and key in dir for RKE2's default names
// plus extra, signed by the CA there, and returns the certificate (DER). Each file is
// replaced by a rename, so kube-apiserver (which watches both files and reloads them) never
// reads half a file; until both are new it keeps serving the old pair.
func reissueServing(dir string, extra []string) ([]byte, error) {
	ca, err := loadCA(dir)
	if err != nil {
		return nil, fmt.Errorf("load the CA: %w", err)
	}
	serving, err := newKeyPair(servingTemplate(extra), ca)
	if err != nil {
		return nil, err
	}
	for _, file := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{"serving.key", serving.keyPEM, 0o600}, {"serving.crt", serving.certPEM, 0o644}} {
		tmp := filepath.Join(dir, "."+file.name+".new")
		if err := os.WriteFile(tmp, file.data, file.mode); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, filepath.Join(dir, file.name)); err != nil {
			return nil, err
		}
	}
	return serving.cert.Raw, nil
}
