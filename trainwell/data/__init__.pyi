from ._augment import augment_images, augment_table, augmentation_of
from ._dataset import (
    DataInfo,
    Dataset,
    fill_missing,
    finish_data,
    load_splits,
    load_table,
    prepare_data,
    source_masks,
    standardise,
)
from ._defects import generate_defects, write_defects
from ._encode import frame_features
from ._files import read_frame
from ._remedies import DATA_REMEDIES, apply_data_remedies, remedy_record
from ._split import Split, Standardizer
from ._table import Table
