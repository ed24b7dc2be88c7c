"""Web pages served by the same server: the cashier's terminal (/terminal), the administrator's and owners' console
(/console) and the member's page (/me). Server-rendered with Jinja2 and a little plain JavaScript.

Each area is a module with its own router (`terminal`, `console`, `member`), mounted by `install` in one place;
`sessions` holds sign-in, roles and CSRF, `templating` the templates with translation and locale formatting.
"""
