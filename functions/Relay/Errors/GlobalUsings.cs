// The error and result types are used by every folder of the relay; importing them once keeps folder files about their own domain.
global using Serverless.Relay.Errors;
