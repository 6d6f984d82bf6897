from tests.support.redis import redis_url as redis_url
