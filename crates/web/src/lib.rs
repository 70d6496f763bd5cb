//! HTTP shell: the JSON API v1 and the server-rendered web application.
