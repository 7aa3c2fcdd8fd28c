#pragma once
// Process-wide settings a long-lived network program needs.

namespace optd::app {

// Raises the soft limit on open files to the hard limit: every LLM call in flight holds a
// socket, and the default soft limit (1024) is below what max_concurrency allows.
void raise_open_file_limit() noexcept;

}  // namespace optd::app
