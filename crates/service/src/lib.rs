//! Application services shared by the web app, the API, the CLI and jobs: validation, scope, the customer 360 document.
