package registry_test

import (
	"fmt"

	"github.com/churnpipe/churnpipe/models/registry"
)

func ExamplePromote() {
	champion := registry.Metrics{TestSnapshot: "2026-06-30", AUC: 0.812, ECE: 0.021}
	candidate := registry.Metrics{TestSnapshot: "2026-06-30", AUC: 0.805, ECE: 0.018}
	d := registry.Promote(candidate, champion, registry.DefaultRule, false)
	fmt.Println(d.Promote, d.Reason)
	// Output: false candidate AUC 0.8050 < champion 0.8120 − 0.0050
}
