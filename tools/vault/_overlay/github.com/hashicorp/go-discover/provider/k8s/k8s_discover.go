// Strongroom overlay, replacing provider/k8s/k8s_discover.go of
// github.com/hashicorp/go-discover (sha256:b5b5ee01bcec56cf406e7e09819968d313e492ff2f77407aec042486e5bafe3f).
// Vault registers this provider for raft's retry_join auto_join; the real
// one links the Kubernetes client (about 250 packages). This one only says
// that it is not built in.

// Package k8s provides pod discovery for Kubernetes.
package k8s

import (
	"fmt"
	"log"
)

type Provider struct{}

func (p *Provider) Help() string {
	return "Kubernetes (K8S): not built into this Vault\n"
}

func (p *Provider) Addrs(args map[string]string, l *log.Logger) ([]string, error) {
	return nil, fmt.Errorf("discover-k8s: the k8s provider is not built into this Vault")
}
