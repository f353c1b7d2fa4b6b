package augment

import (
	"fmt"
	"reflect"
)

// Name names a transform for reports: "none" for nil, the preset a Pipeline equals
// ("MedicalDefault", "SimCLRDefault", "SupervisedDefault"), else "custom <type>". Two
// transforms with the same name may still differ in parameters that Name does not show
// (a custom Pipeline); study fingerprints compare the parameters themselves.
func Name(t Transform) string {
	if t == nil {
		return "none"
	}
	if p, ok := t.(*Pipeline); ok && p != nil {
		t = *p
	}
	for name, preset := range map[string]Pipeline{
		"MedicalDefault": MedicalDefault(), "SimCLRDefault": SimCLRDefault(), "SupervisedDefault": SupervisedDefault(),
	} {
		if reflect.DeepEqual(t, preset) {
			return name
		}
	}
	return fmt.Sprintf("custom %T", t)
}
