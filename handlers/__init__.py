"""Service-task handlers bundled with qihu; each module's functions marked with @topic are registered for their topic."""
