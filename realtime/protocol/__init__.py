"""The socket protocol: the typed list of server events, replies and client commands (`event_types`),
how frames are encoded with the seed's error strings and close codes (`frames`), and the validation of
client frames' payloads (`serializers`). realtime/asyncapi.yaml documents it; a test keeps them equal."""
