//! WebSockets over sprout's streams: async-tungstenite, server and client.
