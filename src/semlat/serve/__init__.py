"""`semlat serve`: a local web viewer to ask a scene questions (gallery, regions, prompts, search, report).

The app (`create_app`) answers through the stage code over a read-only `Viewer`; the page is
plain HTML, JavaScript and CSS in ``static/``, shipped with the package (no build step, no CDN).
"""

from semlat.serve.app import LOCAL_HOSTS, create_app
from semlat.serve.viewer import Viewer

__all__ = ["LOCAL_HOSTS", "Viewer", "create_app"]
