"""The model's process of a live video: deploy.video_live.ModelProcess starts it as
`python -m deploy.model_server FD` and talks to it over the socket FD. Nothing imports this
module, so running it as __main__ does not run again a module the deploy package has imported
(runpy warns of that)."""
import sys

from deploy.video_live import serve_model

if __name__ == '__main__':
    serve_model(int(sys.argv[1]))
