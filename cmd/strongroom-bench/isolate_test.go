package main

import "testing"

// The servers always get CPUs no load generator runs on, and from four
// CPUs on the flood and the readers do not share theirs either.
func TestSplitCPUs(t *testing.T) {
	for _, c := range []struct {
		n                       int
		readers, flood, servers string
	}{
		{2, "0", "0", "1"},
		{3, "0", "0", "1,2"},
		{4, "0", "1", "2,3"},
		{8, "0,1", "2,3", "4,5,6,7"},
	} {
		r, f, s := splitCPUs(c.n)
		if r != c.readers || f != c.flood || s != c.servers {
			t.Errorf("splitCPUs(%d) = %q, %q, %q; want %q, %q, %q", c.n, r, f, s, c.readers, c.flood, c.servers)
		}
	}
}
