// The relay's error and result types (functions/Relay/Errors) are used across test folders.
global using Serverless.Relay.Errors;
