package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// rootUser reads the official mongo image's variables for the first user:
// MONGO_INITDB_ROOT_USERNAME and MONGO_INITDB_ROOT_PASSWORD, each also as
// NAME_FILE (a file holding it, as Compose secrets are given). Neither set:
// no authentication, as with that image.
func rootUser(getenv func(string) string) (ferretdb.AuthConfig, error) {
	get := func(name string) (string, error) {
		v := getenv(name)
		file := getenv(name + "_FILE")
		switch {
		case v != "" && file != "":
			return "", fmt.Errorf("both %s and %s_FILE are set", name, name)
		case file != "":
			b, err := os.ReadFile(file)
			if err != nil {
				return "", fmt.Errorf("%s_FILE: %w", name, err)
			}
			v = strings.TrimRight(string(b), "\n") // as the image's entrypoint reads it
			if v == "" {
				return "", fmt.Errorf("%s_FILE: %s is empty", name, file)
			}
		}
		return v, nil
	}
	user, err := get("MONGO_INITDB_ROOT_USERNAME")
	if err != nil {
		return ferretdb.AuthConfig{}, err
	}
	pass, err := get("MONGO_INITDB_ROOT_PASSWORD")
	if err != nil {
		return ferretdb.AuthConfig{}, err
	}
	if (user == "") != (pass == "") {
		return ferretdb.AuthConfig{}, errors.New("MONGO_INITDB_ROOT_USERNAME and MONGO_INITDB_ROOT_PASSWORD go together: set both or neither")
	}
	return ferretdb.AuthConfig{Username: user, Password: pass, Database: "admin"}, nil
}
