package ssl

import (
	"fmt"
	"slices"
	"sort"
	"sync"
)

var (
	registryMu sync.Mutex
	registry   = map[string]func() Method{}
)

// Register makes a method constructible by name with New (and so from the examples'
// -method flag). Built-in methods register themselves; a user's method may too. It panics
// if the name is taken, as a programming error.
func Register(name string, newMethod func() Method) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("ssl: method %q registered twice", name))
	}
	registry[name] = newMethod
}

// New returns the method registered under name, with its paper's defaults.
func New(name string) (Method, error) {
	registryMu.Lock()
	newMethod, ok := registry[name]
	registryMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("ssl: unknown method %q (known: %v)", name, Names())
	}
	return newMethod(), nil
}

// Names lists the registered methods in alphabetical order.
func Names() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return slices.Clip(names)
}
