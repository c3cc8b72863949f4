package main

import (
	"strings"
	"testing"
	"time"
)

// The limits' defaults, their environment names, and refusals of bad
// values, each naming the variable.
func TestConfigLimits(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(envFrom(t, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxRecordsPerUser != 10_000 || c.MaxBytesPerUser != 16<<20 || c.MaxConnsPerAddr != 64 ||
		c.WriteTimeout != 35*time.Second || c.IdleTimeout != 120*time.Second {
		t.Fatalf("limit defaults: %+v", c)
	}
	c, err = LoadConfig(envFrom(t, map[string]string{"STRONGROOM_MAX_RECORDS_PER_USER": "50", "STRONGROOM_MAX_CONNS_PER_ADDR": "0",
		"STRONGROOM_WRITE_TIMEOUT": "1m", "STRONGROOM_IDLE_TIMEOUT": "30s"}, "STRONGROOM_MAX_BYTES_PER_USER=2MiB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxRecordsPerUser != 50 || c.MaxBytesPerUser != 2<<20 || c.MaxConnsPerAddr != 0 || c.WriteTimeout != time.Minute || c.IdleTimeout != 30*time.Second {
		t.Fatalf("limits from the environment: %+v", c)
	}
	for name, v := range map[string]string{
		"STRONGROOM_MAX_RECORDS_PER_USER": "0", "STRONGROOM_MAX_BYTES_PER_USER": "12MB",
		"STRONGROOM_MAX_CONNS_PER_ADDR": "-1", "STRONGROOM_WRITE_TIMEOUT": "10ms", "STRONGROOM_IDLE_TIMEOUT": "forever",
	} {
		_, err := LoadConfig(envFrom(t, map[string]string{name: v}, ""))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want an error naming it", name, v, err)
		}
	}
}

// The data-key cache's memory and times: defaults, environment names, and
// refusals naming the variable.
func TestConfigKeyCache(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(envFrom(t, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyCacheMB != 32 || c.KeyCacheTTL != time.Minute || c.KeyCacheMaxAge != 30*time.Minute {
		t.Fatalf("key cache defaults: %d MiB, %v, %v", c.KeyCacheMB, c.KeyCacheTTL, c.KeyCacheMaxAge)
	}
	c, err = LoadConfig(envFrom(t, map[string]string{"STRONGROOM_KEY_CACHE_MB": "256", "STRONGROOM_KEY_CACHE_TTL": "5m",
		"STRONGROOM_KEY_CACHE_MAX_AGE": "1h"}, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyCacheMB != 256 || c.KeyCacheTTL != 5*time.Minute || c.KeyCacheMaxAge != time.Hour {
		t.Fatalf("key cache from the environment: %d MiB, %v, %v", c.KeyCacheMB, c.KeyCacheTTL, c.KeyCacheMaxAge)
	}
	for _, env := range []map[string]string{
		{"STRONGROOM_KEY_CACHE_MB": "0"}, {"STRONGROOM_KEY_CACHE_MB": "lots"},
		{"STRONGROOM_KEY_CACHE_TTL": "10ms"}, {"STRONGROOM_KEY_CACHE_MAX_AGE": "forever"},
		{"STRONGROOM_KEY_CACHE_MAX_AGE": "2m", "STRONGROOM_KEY_CACHE_TTL": "5m"},
	} {
		_, err := LoadConfig(envFrom(t, env, ""))
		named := false
		for name := range env {
			named = named || (err != nil && strings.Contains(err.Error(), name))
		}
		if !named {
			t.Errorf("%v: %v, want an error naming it", env, err)
		}
	}
}
