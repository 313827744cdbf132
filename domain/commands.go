package domain

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/licensing-ledger/ledger/proto/ledgerv1" // registers the command messages
)

// NewCommand returns an empty command message of the named type, such as
// "AssignLicense", or false if no such command exists. The permission table
// is the list of commands: a command is a message of package ledger.v1 whose
// name has a rule there.
func NewCommand(name string) (proto.Message, bool) {
	if _, ok := permissions[name]; !ok || strings.HasPrefix(name, "List") {
		return nil, false
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("ledger.v1." + name))
	if err != nil {
		return nil, false
	}
	return mt.New().Interface(), true
}

// CommandName returns the name of a command message, e.g. "AssignLicense".
func CommandName(cmd proto.Message) string {
	return string(cmd.ProtoReflect().Descriptor().Name())
}

// Commands lists every command name.
func Commands() []string {
	var names []string
	for _, n := range Actions() {
		if _, ok := NewCommand(n); ok {
			names = append(names, n)
		}
	}
	return names
}
