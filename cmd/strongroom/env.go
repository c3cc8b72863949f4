package main

import (
	"fmt"
	"os"
	"strings"
)

// Env looks names up in the process environment, then in a .env file.
type Env struct {
	lookup func(string) (string, bool)
	dotenv map[string]string
}

// NewEnv reads the .env file at path if it exists (see readDotenv for its
// format). It fails if the file exists and cannot be read or parsed.
func NewEnv(lookup func(string) (string, bool), dotenvPath string) (*Env, error) {
	vars, err := readDotenv(dotenvPath)
	if err != nil {
		return nil, err
	}
	return &Env{lookup: lookup, dotenv: vars}, nil
}

// Get returns a variable's value; NAME_FILE, if set, names a file holding it.
func (e *Env) Get(name string) (string, error) {
	if v, ok := e.lookup(name); ok && v != "" {
		return v, nil
	}
	if v := e.dotenv[name]; v != "" {
		return v, nil
	}
	file, _ := e.lookup(name + "_FILE")
	if file == "" {
		file = e.dotenv[name+"_FILE"]
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		// An empty file is a mistake (a secret not yet written, a wrong
		// mount), not a request to fall back to a default or generate one.
		return "", fmt.Errorf("%s_FILE: %s is empty", name, file)
	}
	return v, nil
}
