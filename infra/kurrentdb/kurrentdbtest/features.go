package kurrentdbtest

import (
	"context"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
)

// serverVersion is the KurrentDB version the stand-in reports. Clients
// parse it to decide which features to use.
const serverVersion = "25.0.0"

// streamsServiceName is the gRPC service name KurrentDB reports its Streams
// methods under, in the lower case it uses.
const streamsServiceName = "event_store.client.streams.streams"

// featuresService implements ServerFeatures, which clients call right after
// connecting to learn the node's version and methods.
type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

// GetSupportedMethods lists only the methods the stand-in implements, so a
// client never picks a feature it would then find missing (BatchAppend, for
// one, is not listed).
func (featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: serverVersion,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: streamsServiceName, MethodName: "read"},
			{ServiceName: streamsServiceName, MethodName: "append"},
			{ServiceName: streamsServiceName, MethodName: "delete"},
			{ServiceName: streamsServiceName, MethodName: "tombstone"},
		},
	}, nil
}
