//! Reading a server-sent event stream in tests: complete event blocks, named events, the
//! keep-alive comments seen on the way, and whether the stream ended.

use std::time::Instant;

use futures_util::StreamExt;
use serde_json::Value;

/// An open event stream: its blocks one by one (`None` at a deadline or the stream's end),
/// keep-alive comments and named events recorded on the way.
pub struct Events {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
    pub comments: Vec<String>,
    /// Every named event read so far (name, data), including those skipped by
    /// [`Self::next_named`].
    pub seen: Vec<(String, Value)>,
    pub ended: bool,
}

impl Events {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
            comments: Vec::new(),
            seen: Vec::new(),
            ended: false,
        }
    }

    /// The next complete event block (`field: value` lines), or `None` when the stream ends
    /// or `until` passes.
    pub async fn next_block(&mut self, until: Instant) -> Option<Vec<String>> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let lines: Vec<String> = block.lines().map(str::to_string).collect();
                self.comments
                    .extend(lines.iter().filter(|l| l.starts_with(':')).cloned());
                if let Some(name) = lines.iter().find_map(|l| l.strip_prefix("event: ")) {
                    let data: String = lines
                        .iter()
                        .filter_map(|l| l.strip_prefix("data: "))
                        .collect();
                    let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                    self.seen.push((name.to_string(), data));
                }
                return Some(lines);
            }
            let left = until.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(_) => {
                    self.ended = true;
                    return None;
                }
                Err(_) => return None,
            }
        }
    }

    /// The data of the next `change` event.
    pub async fn next_change(&mut self, until: Instant) -> Option<Value> {
        self.next_named("change", until).await
    }

    /// The data of an event named `name` already read, else of the next one.
    pub async fn seen_or_next(&mut self, name: &str, until: Instant) -> Option<Value> {
        if let Some((_, data)) = self.seen.iter().find(|(n, _)| n == name) {
            return Some(data.clone());
        }
        self.next_named(name, until).await
    }

    /// The data of the next event named `name`.
    pub async fn next_named(&mut self, name: &str, until: Instant) -> Option<Value> {
        let wanted = format!("event: {name}");
        while let Some(block) = self.next_block(until).await {
            if block.contains(&wanted) {
                let data: String = block
                    .iter()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect();
                return Some(serde_json::from_str(&data).expect("event data is JSON"));
            }
        }
        None
    }
}
