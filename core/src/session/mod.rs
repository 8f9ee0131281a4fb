//! WS-Trust / WS-SecureConversation: bootstrap replay, SCT registry, per-message processing.
