package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// samples are a scrape's values by series: "name{label="value",...}" with
// the labels sorted; a histogram gives name_count and name_sum.
type samples map[string]float64

// scrapeMetrics GETs the metrics server's /metrics and returns the raw
// text and its samples.
func scrapeMetrics(t *testing.T, s *testServer) (string, samples) {
	t.Helper()
	if s.MetricsAddr == "" {
		t.Fatal("no metrics server")
	}
	if s.Service != nil {
		s.Service.Wait() // mails sent after their answer count too
	}
	res, err := client.Get("http://" + s.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", res.StatusCode, err)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: Content-Type %q, want Prometheus' text format", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("the scrape does not parse: %v\n%s", err, raw)
	}
	out := samples{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			key := series(m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[name+key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[name+key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name+"_count"+key] = float64(m.GetHistogram().GetSampleCount())
				out[name+"_sum"+key] = m.GetHistogram().GetSampleSum()
			case dto.MetricType_UNTYPED:
				out[name+key] = m.GetUntyped().GetValue()
			}
		}
	}
	return string(raw), out
}

// series writes labels as {a="1",b="2"}, sorted by name ("" for none).
func series(labels []*dto.LabelPair) string {
	if len(labels) == 0 {
		return ""
	}
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// wantDeltas checks that each series moved by exactly its delta between
// two scrapes (a series missing from a scrape counts as 0).
func wantDeltas(t *testing.T, before, after samples, deltas map[string]float64) {
	t.Helper()
	keys := make([]string, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if got := after[k] - before[k]; got != deltas[k] {
			t.Errorf("%s moved by %v, want %v", k, got, deltas[k])
		}
	}
}
