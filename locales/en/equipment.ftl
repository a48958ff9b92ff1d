# Equipment pages (/resource, /resource-history, /job-query).
