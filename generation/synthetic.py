"""The demo configs' synthetic data, written where the config's source would be when it is
absent: NTU .skeleton files (1001) or a pose-annotation pickle (1002)."""
import inspect
import logging

from .arrays import GenerateError

logger = logging.getLogger(__name__)


def write_synthetic(writer, target, settings, section):
    """The demo configs' synthetic data: writer(target, **settings), whose arguments the
    config's `synthetic` entry holds."""
    logger.info('writing synthetic data to %s', target)
    try:
        writer(target, **settings)
    except TypeError as e:   # unknown or missing settings
        arguments = ', '.join(inspect.signature(writer).parameters)
        raise GenerateError(f'dataset_args.{section}.synthetic must hold {writer.__name__} '
                            f'arguments ({arguments.split(", ", 1)[1]}): {e}') from None
