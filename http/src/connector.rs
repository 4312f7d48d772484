//! A connector for hyper-util's pooled `Client`.
