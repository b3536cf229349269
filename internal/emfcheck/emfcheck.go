// Package emfcheck checks CloudWatch embedded metric format (EMF) lines
// against the specification, for tests: the _aws metadata, its
// CloudWatchMetrics directives, their dimension sets and metrics, and the
// root members they refer to, with the rules CloudWatch sets on what goes
// in a metric's identity.
//
// The rules, and where they come from:
//
//   - The EMF specification
//     (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
//     the document is one JSON object with the limits of a CloudWatch Logs
//     event; _aws holds Timestamp (epoch milliseconds, a number) and
//     CloudWatchMetrics (an array of directives); a directive has a
//     Namespace, Dimensions (an array of dimension sets, each of at most 30
//     names, each name a root member whose value is a string) and Metrics
//     (at most 100, each with a Name, an optional Unit from CloudWatch's
//     list and an optional StorageResolution of 1 or 60); each metric's root
//     member is a number or an array of at most 100 numbers.
//   - CloudWatch Logs' PutLogEvents
//     (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html):
//     an event is at most 256 KB (the page has since raised it to 1 MB;
//     the lower figure is checked).
//   - CloudWatch's Dimension
//     (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html):
//     a dimension value is 1 to 1024 characters, ASCII only, no control
//     characters, at least one not whitespace.
//   - CloudWatch's namespaces
//     (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Namespace)
//     and MetricDatum
//     (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html):
//     a namespace is 1 to 255 letters, digits, spaces and . - _ / # :, not
//     all spaces; a metric name is 1 to 255 characters.
//
// One form outside the specification is accepted: a distribution {Values,
// Counts, Max, Min, Count, Sum} whose Values and Counts have the same
// length, at most 100, with positive counts summing to Count (the form the
// CloudWatch agent's EMF exporter writes for histograms). Doc.Plain says
// whether a document holds only the specification's forms.
package emfcheck

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// Doc is a checked EMF document.
type Doc struct {
	Timestamp  int64
	Directives []Directive
	// Members are the root members, decoded.
	Members map[string]any
	// Plain is true when every metric's value is a number or an array of
	// numbers, the forms the specification lists: no distribution.
	Plain bool
}

// Directive is one CloudWatchMetrics entry.
type Directive struct {
	Namespace  string
	Dimensions [][]string
	Metrics    []Metric
}

// Metric is one metric definition.
type Metric struct {
	Name              string
	Unit              string
	StorageResolution int
}

// Distribution is a metric value written as values and counts.
type Distribution struct {
	Values, Counts       []float64
	Max, Min, Count, Sum float64
}

// MaxEventBytes is CloudWatch Logs' limit on one event, and so on one EMF
// document: 256 KB.
const MaxEventBytes = 256 * 1024

var (
	namespace = regexp.MustCompile(`^[a-zA-Z0-9._#:/ -]{1,255}$`)
	printable = regexp.MustCompile(`^[ -~]+$`) // ASCII without control characters
	units     = map[string]bool{"": true, "Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true,
		"Kilobytes": true, "Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
		"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true, "Bytes/Second": true,
		"Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true, "Terabytes/Second": true,
		"Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true, "Gigabits/Second": true,
		"Terabits/Second": true, "Count/Second": true, "None": true}
)

// Check parses line and reports the first way it breaks the specification.
func Check(line []byte) (Doc, error) {
	doc := Doc{Plain: true}
	if len(line) > MaxEventBytes {
		return doc, fmt.Errorf("emf: document of %d bytes is over CloudWatch Logs' event limit of %d", len(line), MaxEventBytes)
	}
	if err := json.Unmarshal(line, &doc.Members); err != nil {
		return doc, fmt.Errorf("emf: not a JSON object: %w", err)
	}
	var meta struct {
		Timestamp         *float64
		CloudWatchMetrics *[]struct {
			Namespace  *string
			Dimensions *[][]string
			Metrics    *[]struct {
				Name              *string
				Unit              string
				StorageResolution *int
			}
		}
	}
	raw, ok := doc.Members["_aws"]
	if !ok {
		return doc, fmt.Errorf("emf: no _aws member")
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &meta); err != nil {
		return doc, fmt.Errorf("emf: _aws: %w", err)
	}
	if meta.Timestamp == nil || *meta.Timestamp != math.Trunc(*meta.Timestamp) || *meta.Timestamp <= 0 {
		return doc, fmt.Errorf("emf: _aws.Timestamp is missing or not epoch milliseconds")
	}
	doc.Timestamp = int64(*meta.Timestamp)
	if meta.CloudWatchMetrics == nil {
		return doc, fmt.Errorf("emf: _aws.CloudWatchMetrics is missing")
	}
	for i, d := range *meta.CloudWatchMetrics {
		if d.Namespace == nil || !namespace.MatchString(*d.Namespace) || strings.Trim(*d.Namespace, " ") == "" {
			return doc, fmt.Errorf("emf: directive %d: Namespace %v is missing or invalid", i, d.Namespace)
		}
		if d.Dimensions == nil || d.Metrics == nil {
			return doc, fmt.Errorf("emf: directive %d: Dimensions or Metrics is missing", i)
		}
		dir := Directive{Namespace: *d.Namespace, Dimensions: *d.Dimensions}
		for _, set := range *d.Dimensions {
			if len(set) > 30 {
				return doc, fmt.Errorf("emf: directive %d: a dimension set of %d names is over 30", i, len(set))
			}
			for _, name := range set {
				v, ok := doc.Members[name].(string)
				if !ok || len(v) > 1024 || !printable.MatchString(v) || strings.Trim(v, " ") == "" {
					return doc, fmt.Errorf("emf: dimension %q has no string member of 1 to 1024 printable ASCII characters, not all spaces: %.80q", name, doc.Members[name])
				}
			}
		}
		if len(*d.Metrics) > 100 {
			return doc, fmt.Errorf("emf: directive %d: %d metrics is over 100", i, len(*d.Metrics))
		}
		for _, m := range *d.Metrics {
			if m.Name == nil || *m.Name == "" || len(*m.Name) > 255 {
				return doc, fmt.Errorf("emf: directive %d: a metric has no Name of 1 to 255 characters", i)
			}
			if !units[m.Unit] {
				return doc, fmt.Errorf("emf: metric %s: Unit %q is not a CloudWatch unit", *m.Name, m.Unit)
			}
			res := 60
			if m.StorageResolution != nil {
				res = *m.StorageResolution
			}
			if res != 1 && res != 60 {
				return doc, fmt.Errorf("emf: metric %s: StorageResolution %d is not 1 or 60", *m.Name, res)
			}
			if err := checkValue(*m.Name, doc.Members[*m.Name]); err != nil {
				return doc, err
			}
			if _, ok := doc.Members[*m.Name].(map[string]any); ok {
				doc.Plain = false
			}
			dir.Metrics = append(dir.Metrics, Metric{Name: *m.Name, Unit: m.Unit, StorageResolution: res})
		}
		doc.Directives = append(doc.Directives, dir)
	}
	return doc, nil
}

func checkValue(name string, v any) error {
	switch v := v.(type) {
	case float64:
		return nil
	case []any:
		if len(v) == 0 || len(v) > 100 {
			return fmt.Errorf("emf: metric %s: an array of %d values; use 1 to 100", name, len(v))
		}
		for _, x := range v {
			if _, ok := x.(float64); !ok {
				return fmt.Errorf("emf: metric %s: %v in its array is not a number", name, x)
			}
		}
		return nil
	case map[string]any:
		_, err := DistributionOf(v)
		if err != nil {
			return fmt.Errorf("emf: metric %s: %w", name, err)
		}
		return nil
	case nil:
		return fmt.Errorf("emf: metric %s has no root member", name)
	default:
		return fmt.Errorf("emf: metric %s: %T is not a number, an array or a distribution", name, v)
	}
}

// DistributionOf reads a decoded distribution member and checks it.
func DistributionOf(v any) (Distribution, error) {
	var d Distribution
	b, _ := json.Marshal(v)
	var raw map[string]json.RawMessage
	json.Unmarshal(b, &raw)
	for _, k := range []string{"Values", "Counts", "Max", "Min", "Count", "Sum"} {
		if _, ok := raw[k]; !ok {
			return d, fmt.Errorf("distribution lacks %s", k)
		}
	}
	if len(raw) != 6 {
		return d, fmt.Errorf("distribution has %d members; want Values, Counts, Max, Min, Count, Sum", len(raw))
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("distribution: %w", err)
	}
	if len(d.Values) == 0 || len(d.Values) > 100 || len(d.Values) != len(d.Counts) {
		return d, fmt.Errorf("distribution has %d values and %d counts; use 1 to 100 of each, as many", len(d.Values), len(d.Counts))
	}
	var n float64
	for i, c := range d.Counts {
		if c <= 0 || c != math.Trunc(c) {
			return d, fmt.Errorf("distribution count %v is not a whole number above 0", c)
		}
		// A value stands for its bucket, which may reach an eighth past
		// the extremes.
		if d.Values[i] < d.Min-d.Min/8-1 || d.Values[i] > d.Max+d.Max/8+1 {
			return d, fmt.Errorf("distribution value %v lies outside Min %v .. Max %v", d.Values[i], d.Min, d.Max)
		}
		n += c
	}
	if n != d.Count {
		return d, fmt.Errorf("distribution counts sum to %v, Count is %v", n, d.Count)
	}
	if d.Min > d.Max || d.Sum < d.Min*d.Count || d.Sum > d.Max*d.Count {
		return d, fmt.Errorf("distribution Min %v, Max %v, Sum %v and Count %v disagree", d.Min, d.Max, d.Sum, d.Count)
	}
	return d, nil
}
